import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ZodError } from 'zod';
import { AppError } from '../errors.ts';

const FASTIFY_CODES: Record<string, { status: number; code: string; message: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'payload_too_large', message: 'request body is too large' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'unsupported_media_type', message: 'send Content-Type: application/json' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'invalid_content_length', message: 'Content-Length does not match the body' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'empty_body', message: 'the JSON body is empty' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'invalid_json', message: 'the body is not valid JSON' },
};

export interface NormalisedError {
  status: number;
  code: string;
  message: string;
  details?: unknown;
  internal: boolean;
}

/** Maps anything thrown in a request to a status, a stable code and a safe message. */
export function normaliseError(error: unknown): NormalisedError {
  if (error instanceof AppError) {
    return { status: error.status, code: error.code, message: error.expose ? error.message : 'internal error', details: error.details, internal: error.status >= 500 };
  }
  if (error instanceof ZodError) {
    return {
      status: 400,
      code: 'validation_failed',
      message: 'invalid request',
      details: error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message, code: i.code })),
      internal: false,
    };
  }
  const fe = error as Partial<FastifyError> & { name?: string };
  const known = fe.code ? FASTIFY_CODES[fe.code] : undefined;
  if (known) return { ...known, internal: false };
  if (fe.name === 'SyntaxError' || /JSON/.test(fe.message ?? '') && (fe.statusCode ?? 500) < 500) {
    return { status: 400, code: 'invalid_json', message: 'the body is not valid JSON', internal: false };
  }
  if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) {
    return { status: fe.statusCode, code: 'bad_request', message: fe.message ?? 'bad request', internal: false };
  }
  return { status: 500, code: 'internal_error', message: 'internal error', internal: true };
}

/** The one error handler for the API: `{"error": {code, message, details}}`, logged once here. */
export function apiErrorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const e = normaliseError(error);
  if (e.internal) request.log.error({ err: error }, 'request failed');
  const body: { error: Record<string, unknown> } = { error: { code: e.code, message: e.message } };
  if (e.details !== undefined) body.error.details = e.details;
  if (e.internal) body.error.request_id = request.id;
  void reply.code(e.status).send(body);
}
