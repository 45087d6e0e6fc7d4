-- The KPI read model: per member, day, activity type and stage, how many and how much. Kept by
-- trigger in the same transaction as the activity change, so dashboards read small rollups
-- instead of scanning activities.

-- ## Table
create table public.kpi_daily (
  user_id uuid not null references auth.users (id) on delete cascade,
  org_id uuid not null references public.organizations (id) on delete cascade,
  day date not null,
  activity_type public.activity_type not null,
  stage_key text not null default '',
  quantity bigint not null check (quantity >= 0),
  value_cents bigint not null default 0 check (value_cents >= 0),
  activities integer not null check (activities >= 0),
  primary key (user_id, day, activity_type, stage_key)
);
comment on table public.kpi_daily is
  'Daily rollup of activities per member, type and stage, maintained by trigger. Read-only.';
comment on column public.kpi_daily.user_id is 'The member.';
comment on column public.kpi_daily.org_id is 'The member''s organization (for org-wide dashboards).';
comment on column public.kpi_daily.day is 'The day the activities occurred on.';
comment on column public.kpi_daily.activity_type is 'call, appointment, deal, referral or custom.';
comment on column public.kpi_daily.stage_key is 'The custom stage''s key; empty for the other types.';
comment on column public.kpi_daily.quantity is 'Sum of the activities'' quantities.';
comment on column public.kpi_daily.value_cents is 'Sum of the deal values, in cents.';
comment on column public.kpi_daily.activities is 'How many activity rows make up this rollup.';
alter table public.kpi_daily enable row level security;
-- Org dashboards read a period of the whole org; the primary key serves one member's range.
create index kpi_daily_org_id_day_idx on public.kpi_daily (org_id, day) include (user_id, activity_type, quantity, value_cents);
revoke insert, update, delete, truncate on public.kpi_daily from anon, authenticated;

-- ## Maintenance
create or replace function private.add_to_kpi_daily(activity public.activities, sign integer)
returns void
language plpgsql security definer set search_path = ''
as $$
begin
  if sign > 0 then
    insert into public.kpi_daily as k
      (user_id, org_id, day, activity_type, stage_key, quantity, value_cents, activities)
    values (activity.user_id, activity.org_id, activity.occurred_on, activity.type,
            coalesce(activity.stage_key, ''), activity.quantity, coalesce(activity.value_cents, 0), 1)
    on conflict (user_id, day, activity_type, stage_key) do update
      set quantity = k.quantity + excluded.quantity,
          value_cents = k.value_cents + excluded.value_cents,
          activities = k.activities + 1;
  else
    update public.kpi_daily
       set quantity = quantity - activity.quantity,
           value_cents = value_cents - coalesce(activity.value_cents, 0),
           activities = activities - 1
     where user_id = activity.user_id and day = activity.occurred_on
       and activity_type = activity.type and stage_key = coalesce(activity.stage_key, '');
    delete from public.kpi_daily
     where user_id = activity.user_id and day = activity.occurred_on
       and activity_type = activity.type and stage_key = coalesce(activity.stage_key, '')
       and activities = 0;
  end if;
end
$$;
comment on function private.add_to_kpi_daily(public.activities, integer) is
  'Adds (sign 1) or removes (sign -1) one activity''s counts in kpi_daily.';

create or replace function private.maintain_kpi_daily() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  if tg_op in ('UPDATE', 'DELETE') then
    perform private.add_to_kpi_daily(old, -1);
  end if;
  if tg_op in ('INSERT', 'UPDATE') then
    perform private.add_to_kpi_daily(new, 1);
  end if;
  return null;
end
$$;
comment on function private.maintain_kpi_daily() is
  'Trigger: keeps kpi_daily equal to the sum of activities after every change.';
create trigger activities_maintain_kpi_daily after insert or update or delete on public.activities
  for each row execute function private.maintain_kpi_daily();

create or replace function private.rebuild_kpi_daily() returns void
language sql security definer set search_path = ''
as $$
  delete from public.kpi_daily;
  insert into public.kpi_daily (user_id, org_id, day, activity_type, stage_key, quantity, value_cents, activities)
  select user_id, org_id, occurred_on, type, coalesce(stage_key, ''),
         sum(quantity), coalesce(sum(value_cents), 0), count(*)
    from public.activities
   group by user_id, org_id, occurred_on, type, coalesce(stage_key, '');
$$;
comment on function private.rebuild_kpi_daily() is
  'Recomputes kpi_daily from activities (after a bulk load with triggers off). Service role only.';
grant execute on function private.rebuild_kpi_daily() to service_role;

-- ## Policies
create policy "members read their KPIs and those of members they manage" on public.kpi_daily
  for select to authenticated
  using (
    org_id in (select private.active_org_ids())
    and (user_id = (select auth.uid()) or user_id in (select private.managed_user_ids()))
  );
