-- notify.lua: notification channels for the runs the scheduler starts (schedule.lua: notify = "/config/notify.lua").
-- Every flow start, success and failure is appended to output/logs/mercado_runs_YYYY-MM-DD.jsonl.
-- To post failures to a Slack incoming webhook, uncomment the command channel, set SLACK_WEBHOOK_URL in the
-- service's environment and add curl to the image (the runtime image has no curl).
return {
  channels = {
    { type = "jsonl", path = "{output}/logs/mercado_runs_%Y-%m-%d.jsonl" },
    -- { type = "command", name = "slack", events = { "flow_failure" }, subflows = false, timeout = 15,
    --   command = [[mercado -e 'io.write(require("mercado.json").encode({ text = os.getenv("MERCADO_MESSAGE") }))' |
    --     curl -fsS -X POST -H 'Content-Type: application/json' --data-binary @- "$SLACK_WEBHOOK_URL"]] },
  },
}
