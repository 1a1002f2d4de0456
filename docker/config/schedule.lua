-- schedule.lua: the scheduler configuration docker/compose.yaml runs (`mercado schedule --config /config/schedule.lua`).
-- Relative paths are relative to the container's working directory, /srv/mercado, where data/ and output/ are
-- mounted. The database comes from the PG* environment variables compose sets, so conninfo stays empty.
-- Check it with:  docker compose run --rm mercado schedule --config /config/schedule.lua --list
return {
  output = "output",
  tz = "UTC",                     -- the image has no time zone data: cron times are UTC
  notify = "/config/notify.lua",  -- flow start/success/failure events of every scheduled run
  jobs = {
    -- Every 2 minutes: look for new, changed or deleted CSV files and new rows; on a change load the files
    -- into PostgreSQL (when files changed) and run the whole analysis once.
    { flow = "data_monitor", every = "2m", run_at_start = true,
      params = { source = "postgres", data_dir = "data", auto_trigger = true } },
    -- A full refresh every night, whatever the monitor saw.
    { flow = "master", cron = "30 5 * * *", params = { source = "postgres" } },
  },
}
