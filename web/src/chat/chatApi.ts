import { ApiError, currentCsrfToken, send } from '../api.ts';
import type { Channel, ChannelDetail, ChatCommand, ChatFile, ChatMessage, MessagePage, MessageVersion } from './types.ts';

const channelPath = (name: string) => `/api/v1/channels/${encodeURIComponent(name)}`;

function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== '') search.set(name, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

/** Some answers wrap the object (`{message}`), some do not: accept both. */
function unwrap<T>(data: unknown, key: string): T {
  if (data && typeof data === 'object' && key in data) return (data as Record<string, T>)[key];
  return data as T;
}

export const chatApi = {
  listChannels: () => send<{ channels: Channel[] }>('GET', '/api/v1/channels'),
  createChannel: async (name: string, topic: string) =>
    unwrap<Channel>(await send<unknown>('POST', '/api/v1/channels', topic.trim() ? { name, topic: topic.trim() } : { name }), 'channel'),
  getChannel: (name: string) => send<ChannelDetail>('GET', channelPath(name)),
  messages: (name: string, page: { after_seq?: number; before_seq?: number; limit?: number; kind?: string }) =>
    send<MessagePage>('GET', `${channelPath(name)}/messages${query(page)}`),
  post: (name: string, text: string, fileIds: string[] = []) =>
    send<{ message: ChatMessage | null; reply?: ChatMessage | null }>('POST', `${channelPath(name)}/messages`, fileIds.length ? { text, file_ids: fileIds } : { text }),
  edit: async (name: string, id: string, text: string) =>
    unwrap<ChatMessage>(await send<unknown>('PATCH', `${channelPath(name)}/messages/${encodeURIComponent(id)}`, { text }), 'message'),
  remove: (name: string, id: string) => send<unknown>('DELETE', `${channelPath(name)}/messages/${encodeURIComponent(id)}`),
  history: async (name: string, id: string) => {
    const data = await send<unknown>('GET', `${channelPath(name)}/messages/${encodeURIComponent(id)}/history`);
    const list = (data as { revisions?: unknown } | null)?.revisions;
    return (Array.isArray(list) ? list : []) as MessageVersion[];
  },
  markRead: (name: string, seq: number) => send<unknown>('POST', `${channelPath(name)}/read`, { seq }),
  search: async (q: string, channel?: string): Promise<ChatMessage[]> => {
    const answer = await send<{ results?: { message: ChatMessage }[] }>('GET', `/api/v1/messages/search${query({ q, channel })}`);
    return (answer?.results ?? []).map((result) => result.message).filter(Boolean);
  },
  commands: () => send<{ commands: ChatCommand[] }>('GET', '/api/v1/commands'),
  exportUrl: (name: string, format: 'markdown' | 'html') => `${channelPath(name)}/export${query({ format })}`,
  fileUrl: (id: string) => `/api/v1/files/${encodeURIComponent(id)}`,

  /** Uploads a file as the raw request body; answers its descriptor for `post(…, fileIds)`. */
  upload: async (file: File): Promise<ChatFile> => {
    const headers: Record<string, string> = { 'content-type': file.type || 'application/octet-stream', accept: 'application/json' };
    const token = currentCsrfToken();
    if (token) headers['x-csrf-token'] = token;
    let response: Response;
    try {
      response = await fetch(`/api/v1/files${query({ name: file.name })}`, { method: 'POST', headers, credentials: 'same-origin', body: file });
    } catch {
      throw new ApiError(0, 'network_error', 'Cannot reach the Firewatch server. Check your connection and try again.');
    }
    const data: unknown = await response.json().catch(() => null);
    if (!response.ok) {
      const error = (data as { error?: { code?: string; message?: string } } | null)?.error;
      throw new ApiError(response.status, error?.code ?? `http_${response.status}`, error?.message ?? `The upload failed (${response.status}).`);
    }
    return unwrap<ChatFile>(data, 'file');
  },
};

/** The incident channel of an incident, found by its number (null when it has none). */
export async function incidentChannel(number: number): Promise<Channel | null> {
  const { channels } = await chatApi.listChannels();
  return channels.find((channel) => channel.kind === 'incident' && channel.incident_number === number) ?? null;
}
