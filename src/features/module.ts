import type { FastifyInstance } from 'fastify';
import type { IntakeService } from '../alerts/intake.service.ts';
import type { Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import type { ApplyKind } from '../config-as-code/apply-kind.ts';
import type { DatabaseHandle, Db } from '../db/database.ts';
import type { EventBus } from '../events/event-bus.ts';
import type { Metrics } from '../http/metrics.ts';
import type { RegisteredRoute } from '../http/route.ts';
import type { LifecycleHooks } from '../incidents/lifecycle.ts';
import type { IncidentsRepo } from '../incidents/incidents.repo.ts';
import type { IncidentsService } from '../incidents/incidents.service.ts';
import type { IntakeContext } from '../integrations/intake-context.ts';
import type { JobHandler, JobQueue } from '../jobs/jobs.ts';
import type { ContactsService } from '../oncall/contacts/contacts.service.ts';
import type { Escalation } from '../oncall/escalation/escalation.ts';
import type { Notifier } from '../oncall/notifications/notifier.ts';
import type { SecretBox } from '../security/secret-box.ts';
import type { ServicesRepo } from '../services/services.repo.ts';
import type { ServicesService } from '../services/services.service.ts';
import type { UsersRepo } from '../users/users.repo.ts';
import type { UsersService } from '../users/users.service.ts';

/** A logger shaped like pino's, bound once the Fastify app exists. */
export interface FeatureLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** What buildApp hands every feature module: the core services, created before any module. */
export interface FeatureContext {
  config: Config;
  handle: DatabaseHandle;
  db: Db;
  clock: Clock;
  bus: EventBus;
  secrets: SecretBox;
  metrics: Metrics;
  jobs: JobQueue;
  /** Wakes the job runner after a transaction scheduled a job due now. */
  wake(): void;
  log: FeatureLog;
  users: UsersService;
  usersRepo: UsersRepo;
  services: ServicesService;
  servicesRepo: ServicesRepo;
  incidents: IncidentsService;
  incidentsRepo: IncidentsRepo;
  intake: IntakeService;
  intakeContext: IntakeContext;
  escalation: Escalation;
  notifier: Notifier;
  contacts: ContactsService;
}

/**
 * A feature that plugs into the app (war room, logs, metrics, inventory, …). buildApp creates modules in a
 * fixed order, so a later module may take an earlier one's public object in its factory's arguments.
 */
export interface FeatureModule {
  name: string;
  /** Runs inside the transaction of every incident change (see LifecycleHooks); composed with the others. */
  hooks?: Partial<LifecycleHooks>;
  /** Durable timer kinds this module handles (the jobs table). */
  jobHandlers?: Record<string, JobHandler>;
  /** Kinds of `firewatch apply -f`, applied after the core kinds in module order. */
  applyKinds?: ApplyKind[];
  /** Routes in the authenticated API context (declare `auth` on each). */
  registerApi?(api: FastifyInstance, routes: RegisteredRoute[]): void | Promise<void>;
  /** Routes outside it (authenticated by their own key or signature, as CONTRACTS.md says). */
  registerPublic?(app: FastifyInstance): void | Promise<void>;
  /** Background work started by `firewatch serve` only (listeners, evaluators); tests drive modules directly. */
  start?(): void | Promise<void>;
  /** Stops what start() started; also called when the app closes. */
  stop?(): void | Promise<void>;
}
