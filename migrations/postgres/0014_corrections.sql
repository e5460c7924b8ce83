-- 更正 (issue 21). migrations/sqlite/0014 must stay equivalent.
--
-- corrects: the withdrawn item this one corrects and republishes. A
-- correction is a new item with its own review, seal and deliveries: the
-- withdrawn one stays withdrawn, and each channel sees a new publication.
ALTER TABLE items ADD COLUMN corrects TEXT REFERENCES items(id);
CREATE INDEX items_corrects ON items (corrects);
