/**
 * A local SMTP server that prints every message it receives, for trying notifications without a mail
 * server: `npm run mail-catcher` (port 2525), then start Firewatch with FIREWATCH_SMTP_URL=smtp://localhost:2525.
 * Development aid only: it accepts anything from anyone on loopback.
 */
import { SMTPServer } from 'smtp-server';

const port = Number(process.env.PORT ?? 2525);
const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS'],
  logger: false,
  onData(stream, session, callback) {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const subject = /^Subject: (.*)$/im.exec(raw)?.[1] ?? '(no subject)';
      const text = raw.replace(/=\r?\n/g, '');
      const links = [...new Set(text.match(/https?:\/\/[^\s"<>]+/g) ?? [])];
      process.stdout.write(`\n[${new Date().toISOString()}] to ${session.envelope.rcptTo.map((r) => r.address).join(', ')}\n  ${subject}\n`);
      for (const link of links) process.stdout.write(`  ${link}\n`);
      callback();
    });
  },
});
server.on('error', (error) => process.stderr.write(`mail catcher: ${error.message}\n`));
server.listen(port, '127.0.0.1', () => process.stdout.write(`mail catcher listening on smtp://127.0.0.1:${port}\n`));
