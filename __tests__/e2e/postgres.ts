/**
 * A throwaway PostgreSQL server for tests of Terraform's pg backend: its own
 * data directory in a temp dir, listening on 127.0.0.1 only, on a free port,
 * with trust authentication (nothing but this machine can reach it). Uses the
 * Debian package postgresql (bash .ci/run installs it); initdb and pg_ctl run
 * as the postgres user because PostgreSQL refuses to run as root.
 */
import { execFileSync } from 'child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'fs';
import { createServer } from 'net';
import { tmpdir } from 'os';
import { join } from 'path';

/** The newest installed server's bin directory (/usr/lib/postgresql/<major>/bin). */
function serverBin(): string {
  const root = '/usr/lib/postgresql';
  const majors = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'pg_ctl'))) : [];
  if (majors.length === 0) throw new Error('PostgreSQL is not installed: apt-get install postgresql (bash .ci/run does)');
  return join(root, majors.sort((a, b) => Number(b) - Number(a))[0], 'bin');
}

/** A port nothing listens on right now (the kernel's pick). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export class PostgresServer {
  private readonly bin = serverBin();

  private constructor(
    public readonly dir: string,
    public readonly port: number,
    public readonly database: string,
  ) {}

  /** Creates a cluster, starts it and creates `database`. */
  public static async start(database: string): Promise<PostgresServer> {
    const dir = mkdtempSync(join(tmpdir(), 'lvs-pg-'));
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }));
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }));
    chownSync(dir, uid, gid);
    const server = new PostgresServer(dir, await freePort(), database);
    server.asPostgres('initdb', '-D', server.data, '--auth=trust', '--username=postgres', '--encoding=UTF8', '--no-sync');
    // The socket goes to the temp dir too: /var/run/postgresql may not exist or be someone else's.
    const options = `-h 127.0.0.1 -p ${server.port} -k ${dir} -c fsync=off`;
    server.asPostgres('pg_ctl', 'start', '--wait', '-D', server.data, '-l', join(dir, 'server.log'), '-o', options);
    server.psql('postgres', `CREATE DATABASE ${database}`);
    return server;
  }

  private get data(): string {
    return join(this.dir, 'data');
  }

  /** A libpq URL for the database, as Terraform's pg backend takes it (conn_str or PG_CONN_STR). */
  public get connStr(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${this.database}?sslmode=disable`;
  }

  /** Runs SQL and returns the rows, one a line, fields separated by |. */
  public query(sql: string): string {
    return this.psql(this.database, sql);
  }

  /** Stops the server and removes its files. */
  public stop(): void {
    try {
      this.asPostgres('pg_ctl', 'stop', '--wait', '-m', 'fast', '-D', this.data);
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }

  private psql(database: string, sql: string): string {
    const args = ['-h', '127.0.0.1', '-p', String(this.port), '-U', 'postgres', '-d', database, '-v', 'ON_ERROR_STOP=1', '-Atc', sql];
    return execFileSync(join(this.bin, 'psql'), args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  }

  private asPostgres(command: string, ...args: string[]): void {
    execFileSync('runuser', ['-u', 'postgres', '--', join(this.bin, command), ...args], {
      cwd: this.dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 60_000,
    });
  }
}
