"""Flows: scheduled and gated agent runs (docs/flows.md).

    spec       flow files: parsing and validation of every field
    cron       the schedule: crontab → APScheduler CronTrigger in the flow's zone
    template   ``[[var]]`` placeholders
    gate       the gating script and its JSON contract
    records    stored flows and runs, and the API's shapes
    store      reading and writing them
    runner     one run, start to outcome
    scheduler  APScheduler jobs built from the store
    service    all of it together, for the routes
"""
