import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ChatMessage } from '../../src/chat/chat.types.ts';
import { createMessageStore, type MessageStore } from '../../web/src/chat/messageStore.ts';
import { seededRandom } from '../random.ts';

/**
 * The war-room view's resume cursor (web/src/chat/messageStore.ts) against a model of the server: every
 * create, edit and deletion takes the channel's next version; the socket sends, in version order, the
 * current state of each message changed after the version it last sent (as chat.ws.ts pumps
 * changesSince), and a (re)subscribe starts it after the cursor the view reports. A POST's answer reaches
 * the view at any time after its commit, before or after frames of earlier changes by others.
 */
class Server {
  version = 0;
  seq = 0;
  readonly messages = new Map<string, ChatMessage>();

  post(author: string): ChatMessage {
    const m: ChatMessage = {
      id: `m${++this.seq}`, channel: 'ops', seq: this.seq, version_seq: ++this.version, kind: 'message', author: { type: 'user', id: author, name: author },
      text: `message ${this.seq}`, attachments: [], blocks: [], files: [], mentions: [], timeline_entry_id: null, created_at: '2026-01-01T00:00:00.000Z', edited_at: null, deleted_at: null,
    };
    this.messages.set(m.id, m);
    return m;
  }

  change(id: string, what: 'edit' | 'delete'): ChatMessage {
    const old = this.messages.get(id)!;
    const at = `2026-01-01T00:00:${String(this.version % 60).padStart(2, '0')}.000Z`;
    const m: ChatMessage = what === 'edit'
      ? { ...old, text: `${old.text} (edit ${this.version + 1})`, edited_at: at, version_seq: ++this.version }
      : { ...old, text: '', deleted_at: at, version_seq: ++this.version };
    this.messages.set(id, m);
    return m;
  }

  /** The next frame the socket sends after `after`: the message changed soonest after it, as it is now. */
  next(after: number): ChatMessage | undefined {
    let best: ChatMessage | undefined;
    for (const m of this.messages.values()) if (m.version_seq > after && (!best || m.version_seq < best.version_seq)) best = m;
    return best;
  }
}

function shown(store: MessageStore): Map<string, number> {
  return new Map(store.list().map((m) => [m.id, m.version_seq]));
}

describe('war-room view: the resume cursor', () => {
  test('the answer to my own post does not move the cursor past others\' messages still on their way; a reconnect brings them', () => {
    const server = new Server();
    const store = createMessageStore();
    store.open([server.post('ana'), server.post('ben')]);
    assert.equal(store.cursor, 2);
    // Ben writes twice, then I post; my POST answers before Ben's frames arrive, and the socket drops.
    server.post('ben');
    server.post('ben');
    const mine = server.post('me');
    assert.equal(store.posted(mine), true);
    assert.ok(store.list().some((m) => m.id === mine.id), 'my message is shown at once');
    assert.equal(store.cursor, 2, 'the cursor stays where the stream is');
    // Resubscribe after the cursor: the server replays what the view has not had from the stream.
    for (let frame = server.next(store.cursor); frame; frame = server.next(store.cursor)) store.changes([frame]);
    assert.deepEqual(store.list().map((m) => m.text), ['message 1', 'message 2', 'message 3', 'message 4', 'message 5']);
    assert.equal(store.cursor, 5);
    // Its own frame, arriving after the answer, is the same message: nothing twice.
    assert.equal(store.changes([mine]), false);
    assert.equal(store.list().length, 5);
  });

  test('older pages never move the cursor; their messages fill in below', () => {
    const server = new Server();
    const first = Array.from({ length: 4 }, () => server.post('ana'));
    const store = createMessageStore();
    store.open(first.slice(2));
    assert.equal(store.oldest, 3);
    server.change('m1', 'edit');
    assert.equal(store.changes([server.next(store.cursor)!]), false, 'a change to a message older than the view waits for "Load older"');
    const cursor = store.cursor;
    store.older(first.slice(0, 2));
    assert.equal(store.cursor, cursor);
    assert.equal(store.oldest, 1);
    assert.deepEqual(store.list().map((m) => m.seq), [1, 2, 3, 4]);
  });

  test('model: with drops, reconnects and POST answers at any moment, the view ends with exactly the server\'s messages', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const random = seededRandom(seed);
      const pick = <T>(list: T[]): T => list[Math.floor(random() * list.length)];
      const server = new Server();
      for (let i = 0; i < 3; i++) server.post('ana');
      const store = createMessageStore();
      store.open([...server.messages.values()]);
      let lastSent: number | null = store.cursor; // null: the socket is down
      const answers: ChatMessage[] = [];
      for (let step = 0; step < 200; step++) {
        const r = random();
        if (r < 0.3) {
          const op = random();
          if (op < 0.35) server.post(pick(['ana', 'ben']));
          else if (op < 0.7) answers.push(server.post('me'));
          else {
            const target = pick([...server.messages.values()].filter((m) => !m.deleted_at));
            if (target) server.change(target.id, op < 0.9 ? 'edit' : 'delete');
          }
        } else if (r < 0.65) {
          const frame: ChatMessage | undefined = lastSent === null ? undefined : server.next(lastSent);
          if (frame) {
            lastSent = frame.version_seq;
            store.changes([frame]);
          }
        } else if (r < 0.8) {
          if (answers.length > 0) store.posted(answers.splice(Math.floor(random() * answers.length), 1)[0]);
        } else if (r < 0.9) {
          lastSent = null; // dropped: frames not yet sent are lost with the connection
        } else if (lastSent === null) {
          lastSent = store.cursor; // resubscribe after the view's cursor
        }
      }
      if (lastSent === null) lastSent = store.cursor;
      for (const answer of answers) store.posted(answer);
      for (let frame: ChatMessage | undefined = server.next(lastSent); frame; frame = server.next(lastSent)) {
        lastSent = frame.version_seq;
        store.changes([frame]);
      }
      const expected = new Map([...server.messages.values()].map((m) => [m.id, m.version_seq]));
      assert.deepEqual(shown(store), expected, `seed ${seed}`);
      assert.equal(store.cursor, server.version, `seed ${seed}`);
    }
  });
});
