import { loadSettings } from '../config/settings.ts';
import { ConfigurationError } from '../core/configuration-error.ts';

const usage = `Usage: astreinte <command> [options]

Commands:
  start                     run the gateway on embedded defaults (or as configured by the environment)
  token --role <role> [--site <FINESS>] [--user <id>] [--ttl <seconds>]
                            print a bearer token signed by the embedded key, and nothing else
  config check [<file>]     validate a regional configuration (default: ASTREINTE_CONFIG or the Midi-Pyrénées example)
  worker                    run a routing worker on its own (same environment as start)
  audit verify [--from <seq>] [--anchor <seq:hash>]
                            check the hash chain of the audit trail; exits non-zero naming the first broken event
  audit export --from <ISO> --to <ISO> [--out <file>]
                            FHIR R4 AuditEvent, one JSON per line, for the regional SIEM
  report verify [--all | <report id>]
                            check signed reports against their signatures and stored SR and PDF; exits non-zero naming what was altered
  oncall --at <ISO time> [--territory <id>] [--pool <id>]
                            print, as JSON, who is on call in each pool at that instant and under which rota entry
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'start':
      return start();
    case 'token': {
      const { runTokenCommand } = await import('./commands/token.ts');
      return runTokenCommand(rest, process.env);
    }
    case 'config': {
      const { runConfigCheck } = await import('./commands/config-check.ts');
      return runConfigCheck(rest);
    }
    case 'worker': {
      const { runWorkerProcess } = await import('../worker/run-worker-process.ts');
      return runWorkerProcess(process.env);
    }
    case 'audit': {
      const { runAuditCommand } = await import('./commands/audit.ts');
      return runAuditCommand(rest, process.env);
    }
    case 'report': {
      const { runReportCommand } = await import('./commands/report.ts');
      return runReportCommand(rest, process.env);
    }
    case 'oncall': {
      const { runOncall } = await import('./commands/oncall.ts');
      return runOncall(rest, process.env);
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(usage);
      return command === undefined ? 1 : 0;
    default:
      process.stderr.write(`astreinte: unknown command ${JSON.stringify(command)}\n\n${usage}`);
      return 2;
  }
}

async function start(): Promise<number> {
  const { startSystem } = await import('./system.ts');
  const settings = loadSettings();
  const system = await startSystem(settings);
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      system.log.info({ signal }, 'stopping');
      system.stop().then(resolve, resolve);
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    // Configuration problems are for the person starting the system: the message says what to fix, no stack.
    if (error instanceof ConfigurationError) process.stderr.write(`${error.message}\n`);
    else process.stderr.write(`astreinte: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
