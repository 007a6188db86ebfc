// The physical baseline for dispatch accept latency: node:http, parse the JSON body, one durable
// SQLite insert (WAL, synchronous FULL, like the daemon's store), answer 202. Prints "LISTENING <port>".
import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';

const db = new Database(process.argv[2]);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
db.exec('CREATE TABLE IF NOT EXISTS tasks (id TEXT PRIMARY KEY, prompt TEXT NOT NULL, agent TEXT, status TEXT NOT NULL, created_at INTEGER NOT NULL)');
const insert = db.prepare('INSERT INTO tasks (id, prompt, agent, status, created_at) VALUES (?, ?, ?, ?, ?)');

const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    const id = randomUUID();
    insert.run(id, body.prompt, body.agent ?? null, 'queued', Date.now());
    res.writeHead(202, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ id, status: 'queued' }));
  });
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`LISTENING ${server.address().port}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
