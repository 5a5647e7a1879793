/**
 * A real Redis Cluster on free loopback ports for the cluster tests: `masters` redis-server
 * processes owning the 16384 slots in equal ranges, each with `replicasPerMaster` replicas, joined
 * by hand (CLUSTER ADDSLOTSRANGE, MEET, REPLICATE: seconds faster than `redis-cli --cluster
 * create`, which sleeps between its steps). A small `cluster-node-timeout` makes a failover take
 * about two seconds. `stop()` kills every process and removes the node files.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, rawCommand, startRedisServer, type RedisServer } from './redis-server.js';

/** One process of the cluster. */
export interface ClusterNode {
  readonly server: RedisServer;
  readonly port: number;
  /** The node's cluster id (40 hex digits). */
  readonly id: string;
  /** What the node was made at start: a master, or a replica of `masterIndex`. */
  readonly startedAs: 'master' | 'replica';
  /** For a replica: the index in {@link RedisCluster.nodes} of the master it replicates. */
  readonly masterIndex: number | undefined;
}

/** A running cluster. */
export interface RedisCluster {
  /** Masters first (`0 … masters − 1`), then their replicas in the same order. */
  readonly nodes: readonly ClusterNode[];
  /** `{ host, port }` of every node, for a client's seed list. */
  readonly seeds: readonly { host: string; port: number }[];
  /** Kills every process (SIGKILL) and removes the node files. */
  stop(): Promise<void>;
}

export interface RedisClusterOptions {
  readonly masters?: number;
  readonly replicasPerMaster?: number;
  /** `cluster-node-timeout`, ms: how long a node may be silent before it is failed over. */
  readonly nodeTimeoutMs?: number;
}

const SLOTS = 16_384;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, deadlineMs: number, check: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + deadlineMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      if (await check()) return;
    } catch (error) {
      last = error;
    }
    await sleep(20);
  }
  throw new Error(`redis cluster: ${what} within ${deadlineMs} ms`, { cause: last });
}

/** The node's view of the cluster: one `CLUSTER NODES` line per node. */
export async function clusterNodes(port: number): Promise<string[]> {
  const reply = await rawCommand(port, 'CLUSTER NODES');
  return reply
    .slice(reply.indexOf('\r\n') + 2)
    .split('\n')
    .filter((line) => /^[0-9a-f]{40} /.test(line));
}

/** Whether the process on `port` is a master now (`ROLE`), false when it does not answer. */
export async function isMaster(port: number): Promise<boolean> {
  try {
    return (await rawCommand(port, 'ROLE', 300)).includes('master');
  } catch {
    return false;
  }
}

/** Starts the cluster and waits until every node says `cluster_state:ok` and every replica is in sync. */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  const masters = options.masters ?? 3;
  const replicas = options.replicasPerMaster ?? 1;
  const nodeTimeoutMs = options.nodeTimeoutMs ?? 1_000;
  const dir = await mkdtemp(join(tmpdir(), 'bulwark-cluster-'));
  const servers: RedisServer[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(servers.map((server) => server.stop('SIGKILL')));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const count = masters * (1 + replicas);
    const ports: number[] = [];
    while (ports.length < count) {
      const port = await freePort();
      if (!ports.includes(port)) ports.push(port);
    }
    servers.push(
      ...(await Promise.all(
        ports.map((port) =>
          startRedisServer({
            port,
            args: [
              ...['--cluster-enabled', 'yes', '--dir', dir],
              ...['--cluster-config-file', `nodes-${port}.conf`],
              ...['--cluster-node-timeout', String(nodeTimeoutMs)],
              // A replica may always take over, however long its link was down.
              ...['--cluster-replica-validity-factor', '0'],
              // Replicas sync at once (the default waits 5 s for more replicas to join a transfer).
              ...['--repl-diskless-sync-delay', '0'],
            ],
          }),
        ),
      )),
    );
    const ids = await Promise.all(
      ports.map(async (port) => (await rawCommand(port, 'CLUSTER MYID')).split('\r\n')[1] ?? ''),
    );
    const per = Math.ceil(SLOTS / masters);
    for (let m = 0; m < masters; m++) {
      const first = m * per;
      const last = Math.min(SLOTS, first + per) - 1;
      const reply = await rawCommand(ports[m] ?? 0, `CLUSTER ADDSLOTSRANGE ${first} ${last}`);
      if (!reply.startsWith('+OK')) throw new Error(`CLUSTER ADDSLOTSRANGE on ${ports[m]}: ${reply}`);
    }
    for (const port of ports.slice(1)) await rawCommand(port, `CLUSTER MEET 127.0.0.1 ${ports[0]}`);
    await until('every node knows every other', 10_000, async () => {
      for (const port of ports) if ((await clusterNodes(port)).length < count) return false;
      return true;
    });
    const nodes: ClusterNode[] = ports.map((port, i) => ({
      server: servers[i] as RedisServer,
      port,
      id: ids[i] ?? '',
      startedAs: i < masters ? 'master' : 'replica',
      masterIndex: i < masters ? undefined : (i - masters) % masters,
    }));
    for (const node of nodes) {
      if (node.masterIndex === undefined) continue;
      const master = nodes[node.masterIndex] as ClusterNode;
      await until(`${node.port} replicates ${master.port}`, 10_000, async () =>
        (await rawCommand(node.port, `CLUSTER REPLICATE ${master.id}`)).startsWith('+OK'),
      );
    }
    await until('cluster_state:ok on every node, replicas in sync', 15_000, async () => {
      for (const node of nodes) {
        if (!(await rawCommand(node.port, 'CLUSTER INFO')).includes('cluster_state:ok')) return false;
        if (node.startedAs === 'replica') {
          if (!(await rawCommand(node.port, 'INFO replication')).includes('master_link_status:up'))
            return false;
        }
        // Every node sees every replica attached to its master.
        const lines = await clusterNodes(node.port);
        if (lines.filter((line) => /^\S+ \S+ (\S+,)?slave[ ,]/.test(line)).length < masters * replicas)
          return false;
      }
      return true;
    });
    return {
      nodes,
      seeds: ports.map((port) => ({ host: '127.0.0.1', port })),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
