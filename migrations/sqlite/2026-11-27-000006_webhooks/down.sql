DROP TABLE event_markers;
DROP TABLE webhook_deliveries;
DROP TABLE webhooks;
