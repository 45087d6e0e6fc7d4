-- Which organizations may pick a SIM for a new goal. A global SIM is offered to every
-- organization unless a platform admin hides it from one (or offers it only to the ones listed,
-- with offered_by_default = false, e.g. a pilot); an organization's own SIM is offered to it
-- alone. Retired SIMs are offered to nobody. None of this hides a SIM from reading: goals that
-- already use a retired or withdrawn SIM keep reading its funnel and keep working.

-- ## Default per SIM
alter table public.sims add column offered_by_default boolean not null default true;
comment on column public.sims.offered_by_default is
  'For a global SIM: offered to organizations without an override (true), or only to those whose override offers it (false).';

-- ## Overrides per organization
create table public.sim_org_availability (
  sim_id uuid not null references public.sims (id) on delete cascade,
  org_id uuid not null references public.organizations (id) on delete cascade,
  offered boolean not null,
  updated_by uuid references auth.users (id) on delete set null default auth.uid(),
  updated_at timestamptz not null default now(),
  primary key (sim_id, org_id)
);
comment on table public.sim_org_availability is
  'A platform admin''s choice to offer or withhold a global SIM for one organization, over the SIM''s default.';
comment on column public.sim_org_availability.sim_id is 'The global SIM.';
comment on column public.sim_org_availability.org_id is 'The organization.';
comment on column public.sim_org_availability.offered is 'Whether its members may pick the SIM for new goals.';
comment on column public.sim_org_availability.updated_by is 'The platform admin who set it.';
comment on column public.sim_org_availability.updated_at is 'When it was set.';
alter table public.sim_org_availability enable row level security;
create index sim_org_availability_org_id_idx on public.sim_org_availability (org_id);
create trigger sim_org_availability_touch_updated_at before update on public.sim_org_availability
  for each row execute function private.touch_updated_at();

-- Written only through public.admin_set_sim_availability (security definer, audited): no write
-- policy, so the API roles write nothing directly.
create policy "members read their organization's SIM availability" on public.sim_org_availability
  for select to authenticated
  using (org_id in (select private.active_org_ids()) or (select private.is_platform_admin()));

-- ## What an organization may pick
create or replace function private.sim_offered_to(sim uuid, org uuid) returns boolean
language sql stable security definer set search_path = ''
as $$
  select exists (
    select 1 from public.sims s
      left join public.sim_org_availability a on a.sim_id = s.id and a.org_id = org
     where s.id = sim and s.status = 'available'
       and case when s.org_id is null then coalesce(a.offered, s.offered_by_default)
                else s.org_id = org end)
$$;
comment on function private.sim_offered_to(uuid, uuid) is
  'True when members of `org` may pick SIM `sim` for a new goal: available, and their own or a global one offered to them.';
grant execute on function private.sim_offered_to(uuid, uuid) to authenticated, service_role;

-- A new goal, or a goal moved to another SIM, needs a SIM offered to its organization. A goal
-- keeping its SIM passes whatever became of the SIM since, so retiring never breaks a goal.
create or replace function private.check_sim_belongs_to_org() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  if tg_op = 'UPDATE' and new.sim_id = old.sim_id and new.org_id is not distinct from old.org_id then
    return new;
  end if;
  if not exists (select 1 from public.sims
                  where id = new.sim_id and (org_id is null or org_id = new.org_id)) then
    raise exception 'SIM % is not available to organization %', new.sim_id, new.org_id
      using errcode = 'foreign_key_violation';
  end if;
  if not private.sim_offered_to(new.sim_id, new.org_id) then
    raise exception 'SIM % is retired or not offered to organization %', new.sim_id, new.org_id
      using errcode = 'check_violation', hint = 'Choose an available SIM.';
  end if;
  return new;
end
$$;
comment on function private.check_sim_belongs_to_org() is
  'Trigger: a goal''s SIM is a global one or its organization''s; a new or changed choice must be offered to the organization (available, not withheld).';
