/**
 * Sends one HL7 message over MLLP (0x0B message 0x1C 0x0D) and waits for the answer on the same connection.
 */
import net from 'node:net';

const START = 0x0b;
const END = Buffer.from([0x1c, 0x0d]);

export async function sendMllp(host: string, port: number, message: string, timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    let received = Buffer.alloc(0);
    const fail = (error: Error) => {
      socket.destroy();
      reject(error);
    };
    socket.setTimeout(timeoutMs, () => fail(new Error(`no MLLP answer from ${host}:${port} within ${timeoutMs / 1000} s`)));
    socket.once('error', (error) => fail(new Error(`MLLP connection to ${host}:${port} failed: ${error.message}`)));
    socket.once('connect', () => socket.write(Buffer.concat([Buffer.from([START]), Buffer.from(message, 'utf8'), END])));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const start = received.indexOf(START);
      const end = received.indexOf(END, start + 1);
      if (start >= 0 && end > start) {
        socket.end();
        resolve(received.subarray(start + 1, end).toString('utf8'));
      }
    });
    socket.once('end', () => fail(new Error(`${host}:${port} closed the MLLP connection without a complete answer`)));
  });
}
