'use strict';
/**
 * The floor for benchmark 5: a minimal node:http + pg server answering
 * GET /api/v2/serve/apps?page=&page_size= with the same three SQL
 * statements Ensemble's AppsService.list() runs through TypeORM (copied from
 * TypeORM's query log: the page, COUNT(1), the details of the page's apps;
 * keep them in step with apps.repository.ts) and the same
 * JSON body (DB-GPT's Result envelope, snake_case views). Checks the bearer
 * key as a string compare. Its own process; the same pool size as Ensemble.
 *
 *   DATABASE_URL=… API_KEY=… DB_POOL_SIZE=10 node bench/pg-floor.js    prints {"port": N}
 */
const http = require('node:http');
const { Pool } = require('pg');

const pool = new Pool({
  connectionString: process.env.DATABASE_URL,
  max: Number(process.env.DB_POOL_SIZE || 10),
  application_name: 'bench-floor',
});
const auth = `Bearer ${process.env.API_KEY}`;

const APP_COLUMNS = [
  'app_code',
  'app_name',
  'app_describe',
  'team_mode',
  'language',
  'team_context',
  'user_code',
  'sys_code',
  'icon',
  'published',
  'param_need',
  'recommend_questions',
  'admins',
  'keep_start_rounds',
  'keep_end_rounds',
  'created_at',
  'updated_at',
];
const DETAIL_COLUMNS = [
  'id',
  'app_code',
  'position',
  'agent_name',
  'node_id',
  'resources',
  'prompt_template',
  'llm_strategy',
  'llm_strategy_value',
  'created_at',
  'updated_at',
];
const PAGE_SQL = `SELECT ${APP_COLUMNS.map((c) => `"a"."${c}" AS "a_${c}"`).join(', ')} FROM "apps" "a" ORDER BY "a"."created_at" DESC, "a"."app_code" ASC LIMIT $LIMIT OFFSET $OFFSET`;
const COUNT_SQL = 'SELECT COUNT(1) AS "cnt" FROM "apps" "a"';
const DETAILS_SQL = `SELECT ${DETAIL_COLUMNS.map((c) => `"d"."${c}"`).join(', ')} FROM "app_details" "d" WHERE "d"."app_code" = ANY($1) ORDER BY "d"."app_code" ASC, "d"."position" ASC`;

const resources = (rs) =>
  (rs || []).map((r) => ({ type: r.type, name: r.name, value: r.value, is_dynamic: r.is_dynamic ?? false }));

async function list(page, pageSize) {
  // TypeORM inlines LIMIT/OFFSET as literals; so does this.
  const rows = (
    await pool.query(PAGE_SQL.replace('$LIMIT', String(pageSize)).replace('$OFFSET', String((page - 1) * pageSize)))
  ).rows;
  // As TypeORM's getManyAndCount (and AppsService.list): COUNT only when the page is full or empty past page 1.
  const offset = (page - 1) * pageSize;
  const total =
    rows.length === pageSize || (rows.length === 0 && offset > 0)
      ? Number((await pool.query(COUNT_SQL)).rows[0].cnt)
      : offset + rows.length;
  const codes = rows.map((r) => r.a_app_code);
  const details = codes.length ? (await pool.query(DETAILS_SQL, [codes])).rows : [];
  const byApp = new Map();
  for (const d of details) {
    const list = byApp.get(d.app_code);
    if (list) list.push(d);
    else byApp.set(d.app_code, [d]);
  }
  const app_list = rows.map((a) => ({
    app_code: a.a_app_code,
    app_name: a.a_app_name,
    app_describe: a.a_app_describe,
    team_mode: a.a_team_mode,
    language: a.a_language,
    team_context: a.a_team_context,
    user_code: a.a_user_code,
    sys_code: a.a_sys_code,
    is_collected: 'false',
    icon: a.a_icon,
    published: a.a_published ? 'true' : 'false',
    param_need: a.a_param_need,
    recommend_questions: a.a_recommend_questions,
    admins: a.a_admins,
    keep_start_rounds: a.a_keep_start_rounds,
    keep_end_rounds: a.a_keep_end_rounds,
    created_at: a.a_created_at.toISOString(),
    updated_at: a.a_updated_at.toISOString(),
    details: (byApp.get(a.a_app_code) || []).map((d) => ({
      app_code: a.a_app_code,
      app_name: a.a_app_name,
      agent_name: d.agent_name,
      node_id: d.node_id,
      resources: resources(d.resources),
      prompt_template: d.prompt_template,
      llm_strategy: d.llm_strategy,
      llm_strategy_value: d.llm_strategy_value,
      created_at: d.created_at.toISOString(),
      updated_at: d.updated_at.toISOString(),
    })),
  }));
  return { app_list, total_count: total, total_page: Math.ceil(total / pageSize), current_page: page };
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://x');
  if (req.headers.authorization !== auth) {
    res.writeHead(401, { 'content-type': 'application/json' });
    return res.end('{"success":false}');
  }
  if (req.method !== 'GET' || url.pathname !== '/api/v2/serve/apps') {
    res.writeHead(404);
    return res.end();
  }
  try {
    const data = await list(Number(url.searchParams.get('page') || 1), Number(url.searchParams.get('page_size') || 20));
    const body = JSON.stringify({ success: true, err_code: null, err_msg: null, data });
    res.writeHead(200, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  } catch (e) {
    res.writeHead(500);
    res.end(String(e));
  }
});
server.keepAliveTimeout = 120_000;
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () =>
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`),
);
const stop = () => pool.end().finally(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
