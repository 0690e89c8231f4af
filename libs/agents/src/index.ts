/** The Agents library: roles, team runs as typed events, and the vis/plain views of those events. */
export * from './types';
export * from './ports';
export { HUMAN } from './names';
export { assignableRoleNames, isAssignableRole, agentRole } from './roles/registry';
export type { ActionResult, AgentRole, RoleProfile } from './roles/role';
export { capHistoryChars, trimHistory } from './history';
export { runTeam } from './team/run-team';
export { DEFAULT_RUN_OPTIONS } from './team/run-context';
export { NATIVE_CHAT_SCENES, nativeChatScene } from './team/native-app';
export type { RunRenderer } from './vis/renderer';
export { IncrementalVisRenderer, type VisTag } from './vis/incremental-vis-renderer';
export { PlainAnswerRenderer } from './vis/plain-answer-renderer';
export { createRenderer, renderVis, renderPlain } from './vis/render';
export { parseVis, VisParseError, type VisBlock, type VisMessage, type VisPlanItem } from './vis/parse-vis';
export { DataChatRenderer, chartView } from './vis/data-chat-renderer';
export { DB_CHART_TAG } from './vis/incremental-vis-renderer';
