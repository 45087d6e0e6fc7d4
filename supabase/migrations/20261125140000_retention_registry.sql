-- Retention: rows the product promises to forget (messages after 12 months, toasts, webhook
-- records…) are deleted by a scheduled job in small batches. Each table registers itself here
-- with the column its age counts from, how long it is kept and an optional extra condition, so
-- a new table needs one `private.register_retention(…)` call in its own migration.
--
-- A batch is one short transaction: at most `batch_size` rows per table, picked through the
-- timestamp's index oldest first and locked with `for update skip locked`, so two runs at once
-- never wait on each other and each row is deleted (and counted) by exactly one of them. The
-- job calls the batch RPC until a batch finds nothing or its time is up, then records one audit
-- entry with the counts (`retention_record_run`).

-- ## The registry
create table private.retention_rules (
  table_name regclass primary key,
  timestamp_column name not null,
  keep interval not null check (keep > interval '0'),
  extra_condition text check (length(btrim(extra_condition)) > 0),
  run_order smallint not null default 100,
  reason text not null check (length(btrim(reason)) > 0)
);
comment on table private.retention_rules is
  'Tables whose rows the retention job deletes: rows older than `keep` (by `timestamp_column`) '
  'that also meet `extra_condition`. Written only by migrations through private.register_retention.';
comment on column private.retention_rules.table_name is 'The table.';
comment on column private.retention_rules.timestamp_column is 'The timestamptz column a row''s age counts from; an index leads with it.';
comment on column private.retention_rules.keep is 'How long a row is kept.';
comment on column private.retention_rules.extra_condition is
  'Optional SQL condition over the row (unqualified columns, the table''s own name for correlation); '
  '$1 is the cutoff (now minus keep).';
comment on column private.retention_rules.run_order is 'Tables are cleaned in this order within a batch (dependents first).';
comment on column private.retention_rules.reason is 'Why this retention (the promise or the need it serves).';
alter table private.retention_rules enable row level security;
revoke all on private.retention_rules from public;

-- ## One table's batch
-- `ctid = any(array(…))` is a TID scan: the rows locked by the inner select are deleted by
-- address, without a second pass over the table.
create or replace function private.retention_batch_sql(rule private.retention_rules) returns text
language sql stable set search_path = ''
as $$
  select format(
    'delete from %1$s where ctid = any (array(select ctid from %1$s where %2$I < $1 and (%3$s) '
    'order by %2$I limit $2 for update skip locked))',
    rule.table_name, rule.timestamp_column, coalesce(rule.extra_condition, 'true'))
$$;
comment on function private.retention_batch_sql(private.retention_rules) is
  'The DELETE of one retention batch for a rule: $1 the cutoff, $2 the most rows it deletes.';

create or replace function private.retention_delete_expired(
  rule private.retention_rules, as_of timestamptz, batch_size integer
) returns integer
language plpgsql set search_path = ''
as $$
declare
  deleted integer;
begin
  execute private.retention_batch_sql(rule) using as_of - rule.keep, batch_size;
  get diagnostics deleted = row_count;
  return deleted;
end
$$;
comment on function private.retention_delete_expired(private.retention_rules, timestamptz, integer) is
  'Deletes at most batch_size rows of one rule''s table that expired by as_of (skipping rows '
  'another transaction holds); answers how many it deleted.';

-- ## Registering a table
create or replace function private.register_retention(
  target regclass, timestamp_column name, keep interval, reason text,
  extra_condition text default null, run_order smallint default 100
) returns void
language plpgsql set search_path = ''
as $$
declare
  rule private.retention_rules;
begin
  if not exists (select 1 from pg_catalog.pg_attribute a
                  where a.attrelid = target and a.attname = timestamp_column
                    and a.atttypid = 'pg_catalog.timestamptz'::pg_catalog.regtype and not a.attisdropped) then
    raise exception 'retention: %.% is no timestamptz column', target, timestamp_column
      using errcode = '22023';
  end if;
  if not exists (select 1 from pg_catalog.pg_index i
                   join pg_catalog.pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
                  where i.indrelid = target and a.attname = timestamp_column) then
    raise exception 'retention: no index leads with %.%, so every batch would scan the table',
      target, timestamp_column using errcode = '22023';
  end if;
  rule := row(target, timestamp_column, keep, extra_condition, run_order, reason);
  -- Plans the batch once (no row is touched): a wrong condition fails the migration, not the job.
  execute 'explain ' || private.retention_batch_sql(rule) using pg_catalog.now(), 1;
  insert into private.retention_rules values (rule.*)
  on conflict (table_name) do update
    set timestamp_column = excluded.timestamp_column, keep = excluded.keep,
        extra_condition = excluded.extra_condition, run_order = excluded.run_order,
        reason = excluded.reason;
end
$$;
comment on function private.register_retention(regclass, name, interval, text, text, smallint) is
  'Migration helper: registers (or changes) a table''s retention after checking that the column '
  'is a timestamptz, that an index leads with it and that the batch''s SQL plans.';

-- ## The RPCs the job calls (service role only)
create or replace function public.retention_delete_batch(batch_size integer default 1000, as_of timestamptz default null)
returns jsonb
language plpgsql security definer set search_path = '' set lock_timeout = '2s'
as $$
declare
  -- A clock ahead of the database's never expires rows early.
  horizon timestamptz := least(coalesce(as_of, pg_catalog.now()), pg_catalog.now());
  rule private.retention_rules;
  deleted jsonb := '{}';
  deleted_here integer;
  more boolean := false;
begin
  if batch_size is null or batch_size not between 1 and 10000 then
    raise exception 'batch_size must be between 1 and 10000' using errcode = '22023';
  end if;
  for rule in select * from private.retention_rules r order by r.run_order, r.table_name::text loop
    deleted_here := private.retention_delete_expired(rule, horizon, batch_size);
    deleted := deleted || jsonb_build_object(rule.table_name::text, deleted_here);
    -- Not `= batch_size`: rows another transaction holds are skipped, so a batch may come up
    -- short while rows are left. One batch that finds nothing ends a run.
    more := more or deleted_here > 0;
  end loop;
  return jsonb_build_object(
    'deleted', deleted, 'more', more,
    'as_of', floor(extract(epoch from horizon))::bigint,
    'at', extract(epoch from pg_catalog.clock_timestamp()));
end
$$;
comment on function public.retention_delete_batch(integer, timestamptz) is
  'One retention batch in its own transaction: for each registered table, deletes at most '
  'batch_size rows that expired by as_of (default and at most now). Answers {deleted: {table: '
  'count}, more: whether it deleted anything (another batch may find more), as_of, at: the '
  'database clock in Unix seconds}.';
revoke execute on function public.retention_delete_batch(integer, timestamptz) from public, anon, authenticated;
grant execute on function public.retention_delete_batch(integer, timestamptz) to service_role;

create or replace function public.retention_record_run(deleted jsonb, batches integer, complete boolean)
returns bigint
language plpgsql security definer set search_path = ''
as $$
declare
  unknown text;
begin
  if jsonb_typeof(deleted) is distinct from 'object' or batches is null or batches < 0 or complete is null then
    raise exception 'a run is {table: count} with its number of batches and whether it finished'
      using errcode = '22023';
  end if;
  select string_agg(key, ', ') into unknown
    from jsonb_each(deleted) e
   where not exists (select 1 from private.retention_rules r where r.table_name::text = e.key)
      or jsonb_typeof(e.value) <> 'number' or (e.value)::numeric < 0 or (e.value)::numeric % 1 <> 0;
  if unknown is not null then
    raise exception 'not a registered table with a count: %', unknown using errcode = '22023';
  end if;
  return private.write_audit('retention.run', 'global', null, 'retention', null, null,
    jsonb_build_object('deleted', deleted, 'batches', batches, 'complete', complete));
end
$$;
comment on function public.retention_record_run(jsonb, integer, boolean) is
  'Writes the one audit entry of a retention run: rows deleted per table, batches, and whether '
  'nothing was left (false when the run stopped at its time budget).';
revoke execute on function public.retention_record_run(jsonb, integer, boolean) from public, anon, authenticated;
grant execute on function public.retention_record_run(jsonb, integer, boolean) to service_role;
