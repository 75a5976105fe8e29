// types.ts: the hub's JSON answers the page reads (docs/openapi.yaml).
export interface Status {
  chain_id: string;
  eip712_chain_id: number;
  height: number;
  hub_address: string;
  version: string;
}
export interface Grant {
  viewer: string;
  valid_until?: string;
  history_from?: string;
  granted_at: string;
  active: boolean;
}
export interface Device {
  camera: string;
  owned: boolean;
  owner?: string;
  hub?: string;
  epoch: number;
  imprinted_at?: string;
  checkpoint_period_seconds: number;
  grants: Grant[];
  checkpoints: { count: number; last_seq?: number; last_period_end?: string };
}
export interface CameraStatus {
  camera: string;
  epoch: number;
  online: boolean;
  recording: boolean;
  head_seq?: number;
  head_hash?: string;
  last_segment_end?: string;
  codec?: string;
  streams?: ("main" | "sub")[];
  retention_seconds: number;
  retention_policy: boolean;
  encryption: boolean; // the owner's ledger policy (SPEC §17.4); off without one
  checkpoint_period_seconds: number;
  last_checkpoint?: { index: number; period_end: string; height: number; tree_size: number; tx_hash: string };
  alarms?: { count: number; last_kind?: string; last_time?: string };
}
export interface ClientInfo {
  client: string;
  enrolled: string;
  last_seen: string;
  logins: number;
  revoked?: string;
  clone_attempts: number;
  current: boolean;
  pending?: boolean;
  approved?: string;
}
export interface AuditEvent {
  seq: number;
  height: number;
  time: string;
  kind: string;
  source: string;
  camera?: string;
  actor?: string;
  owner?: string;
  hub?: string;
  subject?: string;
  detail?: string;
  tx_hash: string;
}
export interface List<T> {
  items: T[];
  next?: string;
}
export interface TxResult {
  hash: string;
  code: number;
  code_name: string;
  log?: string;
  height?: number;
}
export interface TimelineCheckpoint {
  index: number;
  height: number;
  time: string;
  tx_hash: string;
}
export type SpanState = "verified" | "pending" | "failed" | "pruned" | "missing";
export interface TimelineSpan {
  start: string;
  end: string;
  first_seq: number;
  last_seq: number;
  segments: number;
  bytes: number;
  seconds: number;
  state: SpanState;
  checkpoint?: TimelineCheckpoint;
}
export interface TimelineGap {
  start: string;
  end: string;
  seconds: number;
  after_seq: number;
  before_seq: number;
}
export interface TimelineAlarm {
  time: string;
  kind: string;
  detail: string;
  event_seq: number;
  tx_hash: string;
}
export interface Timeline {
  camera: string;
  epoch: number;
  stream: "main" | "sub";
  from: string;
  to: string;
  live: boolean;
  spans: TimelineSpan[];
  gaps: TimelineGap[];
  alarms: TimelineAlarm[];
  alarms_truncated?: boolean;
  next?: string;
}
