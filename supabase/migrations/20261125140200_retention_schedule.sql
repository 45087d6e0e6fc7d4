-- Running retention inside the database, for hosted Supabase: a procedure that commits after
-- every batch (so no lock outlives one batch), scheduled daily with pg_cron where pg_cron can
-- be loaded. Where it cannot (a Postgres without it in shared_preload_libraries, as on the
-- development machines), this file changes nothing else and the Workers cron trigger runs the
-- same batches through PostgREST (functions' `retention` job). Both at once are harmless: each
-- row is deleted by one of them.

-- ## The procedure
-- A procedure that commits cannot carry `set search_path` (Postgres refuses transaction control
-- there), so every name below is schema-qualified; no API role may execute it.
create or replace procedure private.run_retention(
  batch_size integer default 1000, time_budget interval default interval '5 minutes'
)
language plpgsql
as $$
declare
  started timestamptz := pg_catalog.clock_timestamp();
  as_of timestamptz := pg_catalog.now();
  answer jsonb;
  totals jsonb := '{}';
  batches integer := 0;
begin
  loop
    answer := public.retention_delete_batch(batch_size, as_of);
    batches := batches + 1;
    select coalesce(pg_catalog.jsonb_object_agg(b.key, coalesce((totals ->> b.key)::bigint, 0) + b.value::bigint), '{}')
      into totals
      from pg_catalog.jsonb_each_text(answer -> 'deleted') b;
    commit;
    exit when not (answer ->> 'more')::boolean
           or pg_catalog.clock_timestamp() - started > time_budget;
  end loop;
  perform public.retention_record_run(totals, batches, not (answer ->> 'more')::boolean);
end
$$;
comment on procedure private.run_retention(integer, interval) is
  'Runs retention batches, committing after each, until one finds nothing or time_budget is spent; '
  'then writes the run''s one audit entry. For pg_cron (`call private.run_retention()`).';
revoke execute on procedure private.run_retention(integer, interval) from public;

-- ## The schedule (only where pg_cron loads)
do $$
begin
  if not exists (select 1 from pg_catalog.pg_available_extensions where name = 'pg_cron') then
    raise notice 'pg_cron is not installed: retention runs from the Workers cron trigger only';
    return;
  end if;
  begin
    create extension if not exists pg_cron with schema pg_catalog;
  exception when others then
    -- Installed but not preloaded, or another database is cron.database_name.
    raise notice 'pg_cron cannot be loaded here (%): retention runs from the Workers cron trigger only', sqlerrm;
    return;
  end;
  -- Named, so running this again (or a later migration) replaces the job instead of adding one.
  execute $cmd$select cron.schedule('salespulse-retention', '23 3 * * *', 'call private.run_retention()')$cmd$;
end
$$;
