-- lib/pg_schema.lua: the PostgreSQL schema mercado loads and reads: the seed_spec §1.5 tables plus a source_row
-- column (each row's position among the kept rows of its file, from 1), transactions split into one child table per
-- input file (inheritance: `SELECT ... FROM transactions` sees them all), and loaded_files, the fingerprints that make
-- loading idempotent. Shared by flows/data_loading.lua and lib/pg_source.lua. Nothing user-supplied is ever spliced
-- into SQL here: file names, paths and fingerprints travel as $n parameters or COPY data; the only identifiers
-- built are constants and transactions_part_<n> with n from a sequence.
local schema = {}

-- The live tables in load order. `columns` are the COPY columns {table column, colstore column}; source_row is
-- filled with 1..n. The catalog tables are rebuilt whole (a staging copy replaces them); transactions has `parts`.
schema.TABLES = {
  { name = "categories", file = "Categories.csv",
    ddl = "category_id INT NOT NULL, category_name TEXT, source_row INT NOT NULL",
    key = "category_id",
    columns = { { "category_id", "category_id" }, { "category_name", "category_name" } } },
  { name = "product_categories", file = "ProductCategory.csv",
    ddl = "product_id INT NOT NULL, category_id INT NOT NULL, source_row INT NOT NULL",
    columns = { { "product_id", "product_id" }, { "category_id", "category_id" } } },
  { name = "transactions", file = "*_Tran.csv", parts = true,
    ddl = "transaction_date DATE NOT NULL, store_id INT NOT NULL, customer_id INT NOT NULL, products TEXT NOT NULL, "
      .. "source_row INT",
    columns = { { "transaction_date", "date" }, { "store_id", "store_id" }, { "customer_id", "customer_id" },
      { "products", "products" } } },
}

schema.BY_NAME = {}
for _, t in ipairs(schema.TABLES) do schema.BY_NAME[t.name] = t end

-- One row per input file the live tables hold (or skipped as a byte-identical copy of one): the fingerprint, what
-- reading it kept and rejected, and for a transactions file the child table holding its rows.
schema.LOADED_FILES = [[
CREATE TABLE IF NOT EXISTS loaded_files (
  file_name    TEXT PRIMARY KEY,
  size         BIGINT NOT NULL,
  sha256       TEXT NOT NULL,
  rows         BIGINT NOT NULL,
  loaded_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
  table_name   TEXT NOT NULL,
  lines_read   BIGINT NOT NULL DEFAULT 0,
  rejected     JSONB NOT NULL DEFAULT '{}',
  duplicate_of TEXT,
  part_table   TEXT,
  data_dir     TEXT
)]]

schema.PART_SEQ = "CREATE SEQUENCE IF NOT EXISTS transactions_part_seq"

-- The advisory lock that serialises loads (two loaders never interleave).
schema.LOCK_KEY = 0x6d657263 -- "merc"

-- Name of a catalog table's staging copy.
function schema.staging(t) return t.name .. "_loading" end

-- CREATE TABLE statement of a table (or of its staging copy), with its primary key if it has one.
function schema.create_sql(t, staging, if_not_exists)
  local name = staging and schema.staging(t) or t.name
  local key = t.key and string.format(", CONSTRAINT %s_pkey PRIMARY KEY (%s)", name, t.key) or ""
  return string.format("CREATE TABLE %s%s (%s%s)", if_not_exists and "IF NOT EXISTS " or "", name, t.ddl, key)
end

-- Statements that drop a catalog table and put its staging copy in its place (constraint names follow).
function schema.swap_sql(t)
  local stage = schema.staging(t)
  local sql = { string.format("DROP TABLE IF EXISTS %s", t.name),
    string.format("ALTER TABLE %s RENAME TO %s", stage, t.name) }
  if t.key then
    sql[#sql + 1] = string.format("ALTER TABLE %s RENAME CONSTRAINT %s_pkey TO %s_pkey", t.name, stage, t.name)
  end
  return sql
end

-- A new child table of transactions for one file's rows; returns its name.
function schema.new_part(conn)
  local n = conn:query("SELECT nextval('transactions_part_seq') AS n")[1].n
  local name = "transactions_part_" .. math.tointeger(n)
  conn:exec(string.format("CREATE TABLE %s () INHERITS (transactions)", name))
  return name
end

-- The child tables of transactions: {name, oid} (oid as an integer), in no particular order.
function schema.parts(conn)
  return conn:query([[SELECT c.relname AS name, c.oid::int8 AS oid FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'transactions'::regclass]])
end

-- Drops a child table by name (quoted by the server: the name comes from the database).
function schema.drop_part(conn, name)
  local sql = conn:query("SELECT format('DROP TABLE IF EXISTS %I', $1::text) AS sql", name)[1].sql
  conn:exec(sql)
end

-- Names of the columns of a table ({} when it does not exist).
function schema.columns(conn, table_name)
  local rows = conn:query([[SELECT a.attname AS name FROM pg_attribute a
    WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum]], table_name)
  local out = {}
  for _, r in ipairs(rows) do out[r.name] = true end
  return out
end

-- Whether a table exists in the current schema search path.
function schema.exists(conn, table_name)
  return conn:query("SELECT to_regclass($1) IS NOT NULL AS found", table_name)[1].found
end

-- Whether the transactions table holds rows of its own (the old loader's layout, not split per file).
function schema.has_own_rows(conn)
  return conn:query("SELECT EXISTS (SELECT 1 FROM ONLY transactions) AS yes")[1].yes
end

return schema
