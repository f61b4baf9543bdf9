-- Keep an instance's metadata text in the instance row when the row fits in a page (up to ~8 kB, most
-- instances): serving a series' metadata then reads heap pages directly, without TOAST look-ups and pglz
-- decompression (measured: 600 instances of 6 kB, 8.6 ms -> 3.5 ms server time). Larger metadata (enhanced
-- multi-frame objects) is still compressed and stored out of line.
ALTER TABLE instance SET (toast_tuple_target = 8160);
