"""The reference vendor system: a small enterprise real-name system (实名制管理系统) that enrols
workers, issues them to the site's gates, receives clock-ins and uploads them to the platform
through the reference client, with a durable outbox (docs/vendor.md)."""
