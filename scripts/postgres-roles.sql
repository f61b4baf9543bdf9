-- Astreinte on an external PostgreSQL: the two roles (docs/operations.md, "PostgreSQL roles").
-- Run once as a superuser (compose.yaml runs it at the server's first start). Change both passwords and put
-- them in DATABASE_OWNER_URL (astreinte_owner: owns the schema, runs the migrations) and DATABASE_URL
-- (astreinte_app: the gateway and workers; no superuser, owns nothing, gets its privileges from the owner).
CREATE ROLE astreinte_owner LOGIN PASSWORD 'change-me-owner';
CREATE ROLE astreinte_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD 'change-me-app';
CREATE DATABASE astreinte OWNER astreinte_owner;
REVOKE ALL ON DATABASE astreinte FROM PUBLIC;
-- TEMPORARY: BullMQ's bulk adds (PostgreSQL queue backend) use temporary tables.
GRANT CONNECT, TEMPORARY ON DATABASE astreinte TO astreinte_app;
