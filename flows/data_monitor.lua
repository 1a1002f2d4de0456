-- data_monitor.lua: new-data detection (seed_spec §5, with its weaknesses fixed). Fingerprints the input files
-- (transactions/*_Tran.csv and products/*.csv: size, mtime and SHA-256, hashed again only when size or mtime
-- changed) and, with source = postgres, the database's row counts and last transaction date; compares them with
-- the state of the previous check (<output>/metadata/data_monitor_state.json, written atomically) and logs what is
-- new, changed or deleted. The first check only records the state. With auto_trigger = true a change runs
-- data_loading (source = postgres, when files changed) and then master, once per change. Meant to run every
-- 2 minutes under `mercado schedule`.
local flow = require "mercado.flow"
local json = require "mercado.json"
local sys = require "mercado.sys"
local shared_params = require "lib.params"

local STATE_FILE = "metadata/data_monitor_state.json"
local STATE_VERSION = 1

local State = json.shape { "version", "check_timestamp", "source", "data_dir", "files", "database" }
local FileState = json.shape { "size", "mtime", "sha256" }
local DbState = json.shape { "transactions_count", "last_transaction_date", "categories_count", "products_count" }
local Changes = json.shape { "first_run", "has_changes", "added", "modified", "deleted", "database" }
local DbChanges = json.shape { "new_transactions", "new_categories", "new_products", "date_changed",
  "previous_last_date", "last_transaction_date" }
local Triggered = json.shape { "flow", "state", "run_id", "error" }

local function mb(bytes) return string.format("%.1f MB", bytes / 1048576) end

-- The watched files, relative to data_dir, sorted.
local function watched_files(dir)
  local out = {}
  for _, pat in ipairs { "transactions/*_Tran.csv", "products/*.csv" } do
    for _, path in ipairs(require("mercado.util").glob(dir, pat)) do out[#out + 1] = path:sub(#dir + 2) end
  end
  table.sort(out)
  return out
end

-- Fingerprints every watched file, reusing the previous hash when size and mtime are unchanged.
local function scan_files(ctx, dir, previous)
  local files, hashed, bytes = json.object(), 0, 0
  for _, rel in ipairs(watched_files(dir)) do
    local path = dir .. "/" .. rel
    local st, serr = sys.stat(path)
    if not st then error("cannot read " .. path .. ": " .. tostring(serr), 0) end
    local prev = previous and previous[rel]
    local sha = prev and prev.size == st.size and prev.mtime == st.mtime and prev.sha256 or nil
    if not sha then
      local hex, herr = sys.sha256_file(path)
      if not hex then error("cannot hash " .. path .. ": " .. tostring(herr), 0) end
      sha, hashed, bytes = hex, hashed + 1, bytes + st.size
    end
    files[rel] = FileState { size = st.size, mtime = st.mtime, sha256 = sha }
  end
  ctx.log.debug("fingerprinted %d files (%d hashed, %s read)", #watched_files(dir), hashed, mb(bytes))
  return files
end

local TABLES = { transactions = "transactions_count", categories = "categories_count",
  product_categories = "products_count" }

-- Row counts and the last transaction date; a table that does not exist yet counts 0.
local function query_database(ctx, conninfo)
  local pg = require "mercado.pg"
  if not pg.connect then error("this build has no PostgreSQL module", 0) end
  local conn <close>, cerr = pg.connect(conninfo)
  if not conn then error(string.format("cannot connect to PostgreSQL (%s): %s", pg.redact(conninfo), tostring(cerr)), 0) end
  local present = {}
  for _, r in ipairs(conn:query([[SELECT c.relname FROM pg_class c WHERE c.relkind IN ('r', 'p')
      AND c.relname IN ('transactions', 'categories', 'product_categories') AND pg_table_is_visible(c.oid)]])) do
    present[r.relname] = true
  end
  local db = DbState { transactions_count = 0, categories_count = 0, products_count = 0 }
  for tbl, key in pairs(TABLES) do
    if present[tbl] then db[key] = conn:query("SELECT COUNT(*) AS n FROM " .. tbl)[1].n end
  end
  if present.transactions then
    db.last_transaction_date = conn:query("SELECT MAX(transaction_date)::text AS d FROM transactions")[1].d
  end
  ctx.log.debug("database %s: %d transactions up to %s", pg.redact(conninfo), db.transactions_count,
    tostring(db.last_transaction_date))
  return db
end

-- The previous state, or nil (first run, unreadable file, or another data source: the check starts over).
local function load_state(ctx, p)
  local path = ctx:output_path(STATE_FILE)
  local f = io.open(path, "rb")
  if not f then return nil end
  local text = f:read("a")
  f:close()
  local ok, st = pcall(json.decode, text)
  if not ok or type(st) ~= "table" or st.version ~= STATE_VERSION or type(st.files) ~= "table" then
    ctx.log.warning("the monitor state %s is unreadable (%s); starting over", path, ok and "unexpected content" or tostring(st))
    return nil
  end
  if st.source ~= p.source or st.data_dir ~= p.data_dir then
    ctx.log.warning("the last check watched source=%s data_dir=%s; starting over for source=%s data_dir=%s",
      tostring(st.source), tostring(st.data_dir), p.source, p.data_dir)
    return nil
  end
  if st.database == json.null then st.database = nil end
  return st
end

local function compare_files(prev, cur)
  local added, modified, deleted = json.array(), json.array(), json.array()
  for rel, f in pairs(cur) do
    local old = prev[rel]
    if not old then added[#added + 1] = rel
    elseif old.sha256 ~= f.sha256 then modified[#modified + 1] = rel end
  end
  for rel in pairs(prev) do
    if not cur[rel] then deleted[#deleted + 1] = rel end
  end
  table.sort(added)
  table.sort(modified)
  table.sort(deleted)
  return added, modified, deleted
end

local function compare_db(prev, cur)
  if not cur then return nil end
  prev = prev or DbState { transactions_count = 0, categories_count = 0, products_count = 0 }
  local function s(v) return v ~= json.null and v or nil end
  return DbChanges {
    new_transactions = cur.transactions_count - prev.transactions_count,
    new_categories = cur.categories_count - prev.categories_count,
    new_products = cur.products_count - prev.products_count,
    date_changed = s(cur.last_transaction_date) ~= s(prev.last_transaction_date),
    previous_last_date = s(prev.last_transaction_date), last_transaction_date = s(cur.last_transaction_date),
  }
end

local function db_changed(d)
  return d ~= nil and (d.new_transactions ~= 0 or d.new_categories ~= 0 or d.new_products ~= 0 or d.date_changed)
end

-- Logs the changes the way an operator reads them.
local function report(ctx, changes, cur, prev)
  local log = ctx.log
  if changes.first_run then
    local total = 0
    for _, rel in ipairs(changes.added) do
      total = total + cur.files[rel].size
      log.info("new file %s (%s)", rel, mb(cur.files[rel].size))
    end
    log.info("first check: recorded %d files (%s)%s; nothing is triggered on a first check", #changes.added, mb(total),
      cur.database and string.format(" and the database (%d transactions up to %s)", cur.database.transactions_count,
        tostring(cur.database.last_transaction_date or "none")) or "")
    return
  end
  for _, rel in ipairs(changes.added) do log.info("new file %s (%s)", rel, mb(cur.files[rel].size)) end
  for _, rel in ipairs(changes.modified) do
    log.info("changed file %s (%d -> %d bytes)", rel, prev.files[rel].size, cur.files[rel].size)
  end
  for _, rel in ipairs(changes.deleted) do log.warning("deleted file %s", rel) end
  local d = changes.database
  if db_changed(d) then
    log.info("database: %+d transactions (total %d), %+d categories, %+d catalog rows%s", d.new_transactions,
      cur.database.transactions_count, d.new_categories, d.new_products,
      d.date_changed and string.format(", last date %s -> %s", tostring(d.previous_last_date or "none"),
        tostring(d.last_transaction_date or "none")) or "")
    if d.new_transactions < 0 then log.warning("database: %d transactions were deleted", -d.new_transactions) end
  end
  if not changes.has_changes then log.info("no changes since the last check at %s", tostring(prev.check_timestamp)) end
end

-- The definition of a flow to trigger, or nil after logging why it is unavailable.
local function trigger_def(ctx, name)
  local ok, def = pcall(ctx.loader, name)
  if ok and def then return def end
  ctx.log.error("cannot trigger flow '%s': it is not available (%s)", name,
    tostring(type(def) == "table" and def.message or def))
  return nil
end

-- Runs a flow as a subflow with the monitor's source parameters it declares; records the outcome.
local function trigger(ctx, p, name, triggered)
  local def = trigger_def(ctx, name)
  if not def then
    triggered[#triggered + 1] = Triggered { flow = name, state = "Unavailable", error = "flow not found" }
    return false
  end
  local params = {}
  for _, k in ipairs { "source", "data_dir", "conninfo" } do
    if def.params[k] then params[k] = p[k] end
  end
  ctx.log.info("triggering %s", name)
  local ok, err = pcall(ctx.flow, ctx, def, params)
  if not ok and type(err) == "table" and (err.kind == "cancelled" or err.kind == "timeout") then error(err, 0) end
  local tasks = ctx.record.tasks
  local rec = tasks[#tasks]
  local t = Triggered { flow = name, state = ok and "Completed" or (rec and rec.state or "Failed"),
    run_id = rec and rec.run_id, error = not ok and tostring(type(err) == "table" and err.message or err) or nil }
  triggered[#triggered + 1] = t
  if not ok then ctx.log.error("triggered %s failed: %s (run %s)", name, t.error, tostring(t.run_id)) end
  return ok
end

return flow.define {
  name = "data_monitor",
  description = "Detect new, changed and deleted input data; optionally run data_loading and master",
  params = shared_params.with(shared_params.source(), {
    auto_trigger = { type = "bool", default = false,
      doc = "on a change, run data_loading (source=postgres, when files changed) and master" },
    save_state = { type = "bool", default = true, doc = "record this check as the baseline for the next one" },
  }),
  subflows = { "data_loading", "master" },
  run = function(ctx, p)
    local prev = ctx:task("load previous state", {}, load_state, ctx, p)
    local dir = p.data_dir
    local st = sys.stat(dir)
    local files
    if st and st.type == "directory" then
      files = ctx:task("fingerprint files", {}, scan_files, ctx, dir, prev and prev.files)
    elseif p.source == "postgres" then
      ctx.log.warning("data directory %s does not exist: watching the database only", dir)
      files = json.object()
    else
      error(string.format("data directory %s does not exist (set -p data_dir=DIR)", dir), 0)
    end
    local db
    if p.source == "postgres" then
      db = ctx:task("query database", { retries = 3, retry_delay = 10 }, query_database, ctx, p.conninfo)
    end
    local cur = State { version = STATE_VERSION, check_timestamp = sys.isotime(sys.now()), source = p.source,
      data_dir = p.data_dir, files = files, database = db }
    local changes
    if prev then
      local added, modified, deleted = compare_files(prev.files, files)
      local dbc = compare_db(prev.database, db)
      changes = Changes { first_run = false, added = added, modified = modified, deleted = deleted, database = dbc }
      changes.has_changes = #added + #modified + #deleted > 0 or db_changed(dbc)
    else
      local added = json.array()
      for rel in pairs(files) do added[#added + 1] = rel end
      table.sort(added)
      changes = Changes { first_run = true, has_changes = true, added = added, modified = json.array(),
        deleted = json.array(), database = compare_db(nil, db) }
    end
    report(ctx, changes, cur, prev)
    local function save()
      if p.save_state then ctx:task("save state", {}, function() ctx:write_json(STATE_FILE, cur) end) end
    end
    save() -- before triggering: a change triggers once, even if the triggered flow fails or is interrupted
    local triggered = json.array()
    if changes.has_changes and not changes.first_run then
      if not p.auto_trigger then
        ctx.log.info("run `mercado run master` to refresh the results (or schedule this flow with auto_trigger=true)")
      else
        local files_changed = #changes.added + #changes.modified + #changes.deleted > 0
        local loaded = true
        if p.source == "postgres" and files_changed then
          loaded = trigger(ctx, p, "data_loading", triggered)
          if loaded then -- the load changed the database: that is this change, not a new one
            cur.database = ctx:task("query database after loading", { retries = 3, retry_delay = 10 },
              query_database, ctx, p.conninfo)
            save()
          end
        end
        if loaded then trigger(ctx, p, "master", triggered)
        else ctx.log.error("master not triggered: data_loading did not complete") end
      end
    end
    return { current_state = cur, changes = changes, triggered = triggered }
  end,
}
