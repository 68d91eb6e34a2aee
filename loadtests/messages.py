"""The locust messages between a load run's master and its workers: the master sends each worker
its shard's plan, the worker says it has taken it, and sends its outcomes when its timetable is done."""

PLAN_MESSAGE, READY_MESSAGE, RESULTS_MESSAGE = "jzgr_plan", "jzgr_ready", "jzgr_results"
