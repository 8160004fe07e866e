import dgram from 'node:dgram';
import net from 'node:net';
import { MAX_LINE_BYTES, parseSyslog, SyslogFramer, type SyslogMessage } from './syslog.parse.ts';

export interface SyslogSink {
  /** Takes parsed lines; false when the store's buffer is full (TCP pauses, UDP drops). */
  offer(messages: SyslogMessage[]): boolean;
  /** Takes parsed lines whatever the fill; false asks the source to pause until the drain. */
  push(messages: SyslogMessage[]): boolean;
  /** Registers a listener for "the buffer has room again". */
  onDrain(listener: () => void): () => void;
  now(): Date;
  dropped?(count: number, reason: 'udp_buffer_full' | 'too_long'): void;
  received?(count: number, transport: 'udp' | 'tcp'): void;
  log?: { warn(obj: object, msg: string): void };
}

export interface SyslogServer {
  host: string;
  tcpPort: number;
  udpPort: number;
  close(): Promise<void>;
}

const IDLE_TIMEOUT_MS = 10 * 60_000;
const MAX_CONNECTIONS = 1000;

/**
 * Syslog over TCP (RFC 6587: octet counting or LF framing) and UDP (one message per datagram) on one
 * port number. `port` 0 picks a free port (tests): TCP's, then UDP on the same number.
 */
export async function startSyslogServer(options: { host: string; port: number; sink: SyslogSink }): Promise<SyslogServer> {
  const { sink } = options;
  const sockets = new Set<net.Socket>();
  const paused = new Set<net.Socket>();
  const unlisten = sink.onDrain(() => {
    for (const s of paused) s.resume();
    paused.clear();
  });

  const tcp = net.createServer((socket) => {
    sockets.add(socket);
    const framer = new SyslogFramer(MAX_LINE_BYTES);
    const peer = socket.remoteAddress?.replace(/^::ffff:/, '') ?? null;
    socket.setTimeout(IDLE_TIMEOUT_MS, () => socket.destroy());
    const deliver = (frames: string[]) => {
      if (frames.length === 0) return;
      const now = sink.now();
      sink.received?.(frames.length, 'tcp');
      if (!sink.push(frames.map((f) => parseSyslog(f, peer, now))) && !paused.has(socket)) {
        // Stop reading until the buffer drains; the kernel's window then slows the sender.
        socket.pause();
        paused.add(socket);
      }
    };
    socket.on('data', (chunk: Buffer) => deliver(framer.push(chunk)));
    socket.on('end', () => deliver(framer.end()));
    socket.on('error', (error) => sink.log?.warn({ err: error, peer }, 'syslog TCP connection failed'));
    socket.on('close', () => {
      sockets.delete(socket);
      paused.delete(socket);
    });
  });
  tcp.maxConnections = MAX_CONNECTIONS;
  tcp.on('error', (error) => sink.log?.warn({ err: error }, 'syslog TCP listener error'));

  await new Promise<void>((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen(options.port, options.host, () => {
      tcp.off('error', reject);
      resolve();
    });
  });
  const tcpPort = (tcp.address() as net.AddressInfo).port;

  const udp = dgram.createSocket({ type: net.isIPv6(options.host) ? 'udp6' : 'udp4', recvBufferSize: 8 * 1024 * 1024 });
  udp.on('message', (msg, rinfo) => {
    sink.received?.(1, 'udp');
    const text = (msg.length > MAX_LINE_BYTES ? msg.subarray(0, MAX_LINE_BYTES) : msg).toString('utf8');
    // One datagram may still hold several LF-separated lines (some senders batch).
    const lines = text.split('\n').filter((l) => l.trim().length > 0);
    const now = sink.now();
    if (!sink.offer(lines.map((l) => parseSyslog(l, rinfo.address, now)))) sink.dropped?.(lines.length, 'udp_buffer_full');
  });
  udp.on('error', (error) => sink.log?.warn({ err: error }, 'syslog UDP socket error'));
  try {
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(tcpPort, options.host, () => {
        udp.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    tcp.close();
    throw error;
  }

  let closed = false;
  return {
    host: options.host,
    tcpPort,
    udpPort: udp.address().port,
    async close() {
      if (closed) return;
      closed = true;
      unlisten();
      await new Promise<void>((resolve) => udp.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
    },
  };
}
