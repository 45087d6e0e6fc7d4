-- SIMs (sales income models): an industry's funnel — ordered stages with the conversion rate from
-- each stage to the next, ending in a deal — and the income a deal brings. Global SIMs (org_id
-- null) come from data/sims/*.yaml; an organization may own SIMs of its own.

-- ## Types
create type public.activity_type as enum ('call', 'appointment', 'deal', 'referral', 'custom');
comment on type public.activity_type is
  'What an activity or funnel stage counts: call, appointment, deal, referral, or a custom stage.';
create type public.sim_status as enum ('available', 'retired');
comment on type public.sim_status is 'Retired SIMs stay readable for existing goals but are not offered.';

-- ## SIMs
create table public.sims (
  id uuid primary key default gen_random_uuid(),
  org_id uuid references public.organizations (id) on delete cascade,
  key text not null check (key ~ '^[a-z][a-z0-9_-]{0,62}$'),
  name text not null check (length(btrim(name)) between 1 and 200),
  industry text not null check (length(btrim(industry)) between 1 and 100),
  description text not null default '',
  average_deal_value_cents bigint not null check (average_deal_value_cents > 0),
  commission_rate numeric(6, 5) not null default 1 check (commission_rate > 0 and commission_rate <= 1),
  income_per_deal_cents bigint generated always as
    (round(average_deal_value_cents * commission_rate)::bigint) stored,
  status public.sim_status not null default 'available',
  sources text not null default '',
  created_by uuid references auth.users (id) on delete set null default auth.uid(),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint sims_key_unique unique nulls not distinct (org_id, key)
);
comment on table public.sims is 'Sales income models: an industry''s funnel and deal value. Global when org_id is null.';
comment on column public.sims.id is 'Identifier.';
comment on column public.sims.org_id is 'Owning organization; null for the global catalogue (from data/sims).';
comment on column public.sims.key is 'Stable key (file name for global SIMs), unique per owner.';
comment on column public.sims.name is 'Display name.';
comment on column public.sims.industry is 'Industry, e.g. Real estate.';
comment on column public.sims.description is 'What the model assumes.';
comment on column public.sims.average_deal_value_cents is 'Average value of one deal, in cents.';
comment on column public.sims.commission_rate is 'Share of the deal value the seller earns, in (0, 1]; 1 when income is the deal value.';
comment on column public.sims.income_per_deal_cents is 'Derived: the seller''s income per deal, in cents.';
comment on column public.sims.status is 'available or retired.';
comment on column public.sims.sources is 'Where the ratios come from, or how they were reasoned.';
comment on column public.sims.created_by is 'Who created it (null for seeded SIMs).';
comment on column public.sims.created_at is 'When the row was created.';
comment on column public.sims.updated_at is 'When the row last changed.';
alter table public.sims enable row level security;
create index sims_org_id_idx on public.sims (org_id);
create trigger sims_touch_updated_at before update on public.sims
  for each row execute function private.touch_updated_at();

-- ## Stages
create table public.sim_stages (
  sim_id uuid not null references public.sims (id) on delete cascade,
  position smallint not null check (position between 1 and 20),
  key text not null check (key ~ '^[a-z][a-z0-9_]{0,62}$'),
  name text not null check (length(btrim(name)) between 1 and 100),
  activity_type public.activity_type not null,
  conversion_rate numeric(6, 5) check (conversion_rate > 0 and conversion_rate <= 1),
  primary key (sim_id, position),
  unique (sim_id, key),
  constraint only_the_deal_stage_has_no_rate check ((activity_type = 'deal') = (conversion_rate is null))
);
comment on table public.sim_stages is 'A SIM''s funnel stages in order; the last one is the deal.';
comment on column public.sim_stages.sim_id is 'The SIM.';
comment on column public.sim_stages.position is 'Order in the funnel, from 1.';
comment on column public.sim_stages.key is 'Stable key; activities of type custom name it in stage_key.';
comment on column public.sim_stages.name is 'Display name, e.g. Listing appointment.';
comment on column public.sim_stages.activity_type is 'The activities that count for this stage.';
comment on column public.sim_stages.conversion_rate is 'Share of this stage that reaches the next, in (0, 1]; null for the deal stage.';
alter table public.sim_stages enable row level security;

-- The deal is the last stage and there is exactly one: checked at commit, so a funnel can be
-- rewritten in one transaction.
create or replace function private.check_sim_funnel() returns trigger
language plpgsql security definer set search_path = ''
as $$
declare
  sim uuid := coalesce(new.sim_id, old.sim_id);
  deal_positions smallint[];
  last_position smallint;
begin
  select array_agg(position) filter (where activity_type = 'deal'), max(position)
    into deal_positions, last_position
    from public.sim_stages where sim_id = sim;
  if last_position is not null and deal_positions is distinct from array[last_position] then
    raise exception 'the funnel of SIM % must end in exactly one deal stage', sim
      using errcode = 'check_violation';
  end if;
  return null;
end
$$;
comment on function private.check_sim_funnel() is
  'Constraint trigger: a SIM''s funnel ends in its one deal stage.';
create constraint trigger sim_stages_funnel_ends_in_a_deal
  after insert or update or delete on public.sim_stages deferrable initially deferred
  for each row execute function private.check_sim_funnel();

-- An organization owns no more SIMs than its plan allows.
create or replace function private.enforce_sim_limit() returns trigger
language plpgsql security definer set search_path = ''
as $$
declare
  sim_limit integer;
  owned integer;
begin
  if new.org_id is null then
    return new;
  end if;
  select coalesce(o.max_sims, p.max_sims) into sim_limit
    from public.organizations o join public.plans p on p.key = o.plan_key
   where o.id = new.org_id
     for update of o;
  select count(*) into owned from public.sims where org_id = new.org_id and status = 'available';
  if owned >= sim_limit then
    raise exception 'organization % has reached its SIM limit (%)', new.org_id, sim_limit
      using errcode = 'check_violation', hint = 'Upgrade the plan or retire a SIM.';
  end if;
  return new;
end
$$;
comment on function private.enforce_sim_limit() is
  'Trigger: refuses an available org-owned SIM beyond the plan''s (or override''s) SIM limit.';
create trigger sims_enforce_sim_limit before insert on public.sims
  for each row execute function private.enforce_sim_limit();
create trigger sims_enforce_sim_limit_on_restore before update of status, org_id on public.sims
  for each row when (new.status = 'available' and (old.status <> 'available' or new.org_id is distinct from old.org_id))
  execute function private.enforce_sim_limit();

-- ## Helper
create or replace function private.has_active_org() returns boolean
language sql stable security definer set search_path = ''
as $$
  select exists (select 1 from private.active_org_ids())
$$;
comment on function private.has_active_org() is 'True when the caller is a member of an active organization.';
grant execute on function private.has_active_org() to authenticated, service_role;

-- ## Policies: sims
create policy "members read the global SIMs and their organization's" on public.sims
  for select to authenticated
  using (
    (org_id is null and (select private.has_active_org()))
    or org_id in (select private.active_org_ids())
    or (select private.is_platform_admin())
  );
create policy "enterprise admins create their organization's SIMs" on public.sims
  for insert to authenticated
  with check (org_id in (select private.org_ids_with_role('{enterprise_admin}')));
create policy "enterprise admins edit their organization's SIMs" on public.sims
  for update to authenticated
  using (org_id in (select private.org_ids_with_role('{enterprise_admin}')))
  with check (org_id in (select private.org_ids_with_role('{enterprise_admin}')));
create policy "enterprise admins delete their organization's SIMs" on public.sims
  for delete to authenticated
  using (org_id in (select private.org_ids_with_role('{enterprise_admin}')));
select private.add_write_guards('public.sims');

-- ## Policies: stages (visible with their SIM, written by who may edit it)
create policy "members read the stages of the SIMs they read" on public.sim_stages
  for select to authenticated
  using (exists (select 1 from public.sims s where s.id = sim_id));
create policy "enterprise admins add stages to their SIMs" on public.sim_stages
  for insert to authenticated
  with check (sim_id in (select s.id from public.sims s
                          where s.org_id in (select private.org_ids_with_role('{enterprise_admin}'))));
create policy "enterprise admins edit stages of their SIMs" on public.sim_stages
  for update to authenticated
  using (sim_id in (select s.id from public.sims s
                     where s.org_id in (select private.org_ids_with_role('{enterprise_admin}'))))
  with check (sim_id in (select s.id from public.sims s
                          where s.org_id in (select private.org_ids_with_role('{enterprise_admin}'))));
create policy "enterprise admins remove stages of their SIMs" on public.sim_stages
  for delete to authenticated
  using (sim_id in (select s.id from public.sims s
                     where s.org_id in (select private.org_ids_with_role('{enterprise_admin}'))));
select private.add_write_guards('public.sim_stages');
