-- When a unit acknowledged its order (an accept, or an en route or on scene report
-- without one): what "orders acknowledged within 30 s" is counted from.
ALTER TABLE assignments ADD COLUMN accepted timestamptz;
