// duckdb.mjs: the DuckDB peer (npm @duckdb/node-api): `node duckdb.mjs DATA_DIR REPS [SETTLE]`. Waits SETTLE
// seconds (as mercado's stages do after their load, see bench.lua), then times, per repetition, the ingest of the
// transaction files (with the product lists split into integer lists) and the queries computing the executive
// summary and the temporal analytics, and the three together (summary_analytics); prints one JSON line per stage:
// the median seconds, the first repetition's (cold) and the median of the others (warm).
import { DuckDBInstance } from '@duckdb/node-api';
const [dir, repsArg, settleArg] = process.argv.slice(2);
const reps = Number(repsArg || 3);
await new Promise((resolve) => setTimeout(resolve, 1000 * Number(settleArg || 0)));
const inst = await DuckDBInstance.create(':memory:', { threads: '2' });
const con = await inst.connect();
const ingest = `CREATE OR REPLACE TABLE t AS SELECT column0::DATE AS d, column1::INT AS store, column2::INT AS cust,
  list_transform(string_split(trim(column3), ' '), x -> x::INT) AS products
  FROM read_csv('${dir}/transactions/*_Tran.csv', delim='|', header=false,
    columns={'column0':'VARCHAR','column1':'VARCHAR','column2':'VARCHAR','column3':'VARCHAR'})`;
const catalog = `CREATE OR REPLACE TABLE pc AS SELECT DISTINCT * FROM read_csv('${dir}/products/ProductCategory.csv',
  delim='|', header=true, columns={'p':'INT','c':'INT'})`;
const summary = [
  `SELECT count(*), sum(len(products)) FROM t`,
  `SELECT p, count(*) n FROM (SELECT unnest(products) p FROM t) GROUP BY p ORDER BY n DESC, p LIMIT 10`,
  `SELECT cust, count(*) n FROM t GROUP BY cust ORDER BY n DESC, cust LIMIT 10`,
  `SELECT d, count(*) n FROM t GROUP BY d ORDER BY n DESC, d LIMIT 10`,
  `SELECT d, sum(len(products)) n FROM t GROUP BY d ORDER BY n DESC, d LIMIT 10`,
  `SELECT c, count(*) n FROM (SELECT unnest(products) p FROM t) x JOIN pc ON x.p = pc.p GROUP BY c ORDER BY n DESC, c LIMIT 10`,
  `SELECT c, count(DISTINCT p) n FROM pc GROUP BY c ORDER BY n DESC, c LIMIT 10`,
];
const analytics = [
  `SELECT d, count(*), count(DISTINCT cust) FROM t GROUP BY d ORDER BY d`,
  `SELECT isoyear(d), weekofyear(d), count(*), min(d), max(d) FROM t GROUP BY 1, 2 ORDER BY 1, 2`,
  `SELECT year(d), month(d), count(*) FROM t GROUP BY 1, 2 ORDER BY 1, 2`,
  `SELECT dayofweek(d), count(*) FROM t GROUP BY 1 ORDER BY 1`,
  `SELECT c, store, count(*) FROM (SELECT store, unnest(products) p FROM t) x JOIN pc ON x.p = pc.p GROUP BY 1, 2 ORDER BY 1, 2`,
  `SELECT cust, sum(len(products)) s FROM t GROUP BY cust ORDER BY s DESC, cust`,
  `SELECT corr(f, u), corr(f, dv), corr(u, dv), corr(u, a), corr(dv, st) FROM (SELECT cust, count(*) f, sum(len(products)) u,
     count(DISTINCT p) dv, avg(len(products)) a, count(DISTINCT store) st FROM (SELECT cust, store, products, unnest(products) p FROM t) GROUP BY cust)`,
];
async function time(sqls) {
  const t0 = performance.now();
  for (const q of sqls) await con.runAndReadAll(q);
  return (performance.now() - t0) / 1000;
}
const out = { ingest: [], executive_summary: [], analytics: [], summary_analytics: [] };
for (let i = 0; i < reps; i++) {
  const load = await time([ingest, catalog]), s = await time(summary), a = await time(analytics);
  out.ingest.push(load);
  out.executive_summary.push(s);
  out.analytics.push(a);
  out.summary_analytics.push(load + s + a); // from the CSV files to every result, as mercado's stage
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
for (const [stage, ts] of Object.entries(out)) {
  const warm = ts.length > 1 ? median(ts.slice(1)) : ts[0];
  console.log(JSON.stringify({ stage, seconds: median(ts), cold: ts[0], warm }));
}
