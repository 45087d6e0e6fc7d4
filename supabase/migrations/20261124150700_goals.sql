-- Goals: a member's income target for a period, the SIM it runs on and their working calendar.

-- ## Table
create type public.period_kind as enum ('month', 'quarter', 'year');
comment on type public.period_kind is 'The length of a goal''s period.';

create table public.goals (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  org_id uuid not null references public.organizations (id) on delete cascade,
  sim_id uuid not null references public.sims (id),
  income_target_cents bigint not null check (income_target_cents >= 0),
  period_kind public.period_kind not null,
  period_start date not null,
  period_end date generated always as (
    (period_start + case period_kind
                      when 'month' then interval '1 month'
                      when 'quarter' then interval '3 months'
                      else interval '1 year' end)::date - 1) stored,
  working_weekdays smallint[] not null default '{1,2,3,4,5}'
    check (cardinality(working_weekdays) between 1 and 7 and working_weekdays <@ '{1,2,3,4,5,6,7}'),
  days_off date[] not null default '{}',
  time_zone text not null default 'UTC' check (private.is_time_zone(time_zone)),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (user_id, period_kind, period_start),
  constraint period_start_is_aligned check (
    extract(day from period_start) = 1
    and (period_kind = 'month'
         or (period_kind = 'quarter' and extract(month from period_start) in (1, 4, 7, 10))
         or (period_kind = 'year' and extract(month from period_start) = 1)))
);
comment on table public.goals is 'A member''s income target for a month, quarter or year, on a SIM and a working calendar.';
comment on column public.goals.id is 'Identifier.';
comment on column public.goals.user_id is 'Whose goal (the caller by default).';
comment on column public.goals.org_id is 'The owner''s organization, set by the database.';
comment on column public.goals.sim_id is 'The SIM whose funnel turns the target into activities.';
comment on column public.goals.income_target_cents is 'Income wanted over the period, in cents.';
comment on column public.goals.period_kind is 'month, quarter or year.';
comment on column public.goals.period_start is 'First day of the period (aligned to the month, quarter or year).';
comment on column public.goals.period_end is 'Derived: last day of the period.';
comment on column public.goals.working_weekdays is 'ISO weekdays worked (1 = Monday … 7 = Sunday).';
comment on column public.goals.days_off is 'Dates not worked (holidays, time off).';
comment on column public.goals.time_zone is 'IANA time zone the days are counted in.';
comment on column public.goals.created_at is 'When the row was created.';
comment on column public.goals.updated_at is 'When the row last changed.';
alter table public.goals enable row level security;
create index goals_org_id_idx on public.goals (org_id);
create index goals_sim_id_idx on public.goals (sim_id);
create trigger goals_set_member_org before insert or update on public.goals
  for each row execute function private.set_member_org();
create trigger goals_touch_updated_at before update on public.goals
  for each row execute function private.touch_updated_at();

-- A goal's SIM is global or its own organization's, however the row is written.
create or replace function private.check_sim_belongs_to_org() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  if not exists (select 1 from public.sims
                  where id = new.sim_id and (org_id is null or org_id = new.org_id)) then
    raise exception 'SIM % is not available to organization %', new.sim_id, new.org_id
      using errcode = 'foreign_key_violation';
  end if;
  return new;
end
$$;
comment on function private.check_sim_belongs_to_org() is
  'Trigger: a row''s SIM is a global one or one of its organization''s.';
-- Named to fire after goals_set_member_org (triggers fire in name order).
create trigger goals_verify_sim_belongs_to_org before insert or update of sim_id on public.goals
  for each row execute function private.check_sim_belongs_to_org();

-- ## Policies
create policy "members read their goals and those of members they manage" on public.goals
  for select to authenticated
  using (
    org_id in (select private.active_org_ids())
    and (user_id = (select auth.uid()) or user_id in (select private.managed_user_ids()))
  );
create policy "members set their own goals" on public.goals
  for insert to authenticated
  with check (user_id = (select auth.uid()) and org_id in (select private.active_org_ids()));
create policy "members change their own goals" on public.goals
  for update to authenticated
  using (user_id = (select auth.uid()) and org_id in (select private.active_org_ids()))
  with check (user_id = (select auth.uid()) and org_id in (select private.active_org_ids()));
create policy "members delete their own goals" on public.goals
  for delete to authenticated
  using (user_id = (select auth.uid()) and org_id in (select private.active_org_ids()));
select private.add_write_guards('public.goals');
