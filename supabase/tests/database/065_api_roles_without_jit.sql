-- The API roles run without JIT compilation in this database (what the gateway and PostgREST
-- apply on each request's role switch), and every other setting of theirs is kept.
begin;
select plan(4);

select is((select s.setconfig from pg_db_role_setting s
            where s.setrole = api_role::regrole
              and s.setdatabase = (select oid from pg_database where datname = current_database())),
          array['jit=off'], format('%s plans without JIT in this database', api_role))
  from unnest(array['anon', 'authenticated', 'service_role']) api_role;
select is((select s.setconfig from pg_db_role_setting s
            where s.setrole = 'authenticated'::regrole and s.setdatabase = 0),
          array['statement_timeout=8s'], 'authenticated keeps its statement timeout everywhere');

select * from finish();
rollback;
