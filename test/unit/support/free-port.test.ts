import { readFileSync } from 'node:fs';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../support/free-port.ts';

const ephemeralStart = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);

describe('freePort (ports that test servers restart on)', () => {
  it('gives distinct ports below the range the kernel hands to outgoing connections, each free to listen on', async () => {
    const ports: number[] = [];
    for (let i = 0; i < 20; i++) ports.push(await freePort());
    expect(new Set(ports).size).toBe(ports.length);
    for (const port of ports) {
      expect(port).toBeLessThan(ephemeralStart);
      const server = net.createServer();
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', resolve);
      });
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('never gives a port another program is listening on', async () => {
    const held: net.Server[] = [];
    try {
      // Occupy the ports the allocator would give next, then ask for one more.
      const next = await freePort();
      for (let port = next + 1; port < next + 6; port++) {
        const server = net.createServer();
        const listening = await new Promise<boolean>((resolve) => {
          server.once('error', () => resolve(false));
          server.listen(port, '127.0.0.1', () => resolve(true));
        });
        if (listening) held.push(server);
      }
      const heldPorts = held.map((s) => (s.address() as net.AddressInfo).port);
      const port = await freePort();
      expect(heldPorts).not.toContain(port);
    } finally {
      await Promise.all(held.map((s) => new Promise((resolve) => s.close(resolve))));
    }
  });
});
