/**
 * The one error type the application throws on purpose. `code` is a stable string clients can rely on;
 * `expose` says whether the message is safe to show to the caller (it is unless the error is internal).
 */
export class AppError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details: unknown;
  readonly expose: boolean;
  constructor(code: string, status: number, message: string, details?: unknown, expose = true) {
    super(message);
    this.code = code;
    this.status = status;
    this.details = details;
    this.expose = expose;
  }
}

export const notFound = (what: string, message?: string): AppError =>
  new AppError(`${what}_not_found`, 404, message ?? `${what.replace(/_/g, ' ')} not found`);

export const conflict = (code: string, message: string): AppError => new AppError(code, 409, message);

export const badRequest = (code: string, message: string, details?: unknown): AppError =>
  new AppError(code, 400, message, details);
