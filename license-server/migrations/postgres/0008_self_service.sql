-- Listeners manage their own devices. A store may ask for a wait between a customer's own
-- removals (0: none), so that its device limit still means something; only removals by the
-- customer count toward it, which is why a device records who revoked it.
ALTER TABLE stores ADD COLUMN device_removal_wait_seconds BIGINT NOT NULL DEFAULT 0 CHECK (device_removal_wait_seconds >= 0);
ALTER TABLE devices ADD COLUMN revoked_by TEXT;
CREATE INDEX devices_customer_removals ON devices(customer_id, revoked_at) WHERE revoked_by = 'customer';
