-- SIM management through three security-definer RPCs called with the manager's own token: each
-- checks the caller, makes the change and writes one audit entry (before and after, stages
-- included) in the same transaction. Who manages what:
--   platform admins: every SIM, global or an organization's, and which organizations are offered
--     the global ones;
--   enterprise admins: their active organization's own SIMs, within its SIM limit (the plan's
--     max_sims or the organization's override, enforced by private.enforce_sim_limit on create
--     and restore);
--   nobody in a read-only or impersonation session.
-- The direct write policies of enterprise admins on sims and sim_stages go: a direct write would
-- bypass the audit and the checks, so the RPCs are the only way in.

-- ## Direct writes closed
drop policy "enterprise admins create their organization's SIMs" on public.sims;
drop policy "enterprise admins edit their organization's SIMs" on public.sims;
drop policy "enterprise admins delete their organization's SIMs" on public.sims;
drop policy "enterprise admins add stages to their SIMs" on public.sim_stages;
drop policy "enterprise admins edit stages of their SIMs" on public.sim_stages;
drop policy "enterprise admins remove stages of their SIMs" on public.sim_stages;

-- ## Helpers
create or replace function private.sim_snapshot(sim uuid) returns jsonb
language sql stable security definer set search_path = ''
as $$
  select to_jsonb(s) || jsonb_build_object('stages', coalesce(
           (select jsonb_agg(jsonb_build_object('key', st.key, 'name', st.name,
                                                'activity_type', st.activity_type,
                                                'conversion_rate', st.conversion_rate)
                             order by st.position)
              from public.sim_stages st where st.sim_id = s.id), '[]'))
    from public.sims s where s.id = sim
$$;
comment on function private.sim_snapshot(uuid) is
  'A SIM with its stages in funnel order, as one JSON value: what SIM audit entries keep before and after.';

create or replace function private.may_manage_sims_of(org uuid) returns boolean
language sql stable security definer set search_path = ''
as $$
  select not private.is_read_only()
     and (private.is_platform_admin() or (org is not null and private.has_role(org, '{enterprise_admin}')))
$$;
comment on function private.may_manage_sims_of(uuid) is
  'True when the caller, in their own session, may manage the SIMs owned by `org` (null: the global ones).';

-- The SIM `sim`, locked, when the caller may manage it. One answer for "no such SIM" and "not
-- yours" to everyone but platform admins, so that ids of other organizations' SIMs leak nothing.
create or replace function private.lock_managed_sim(sim uuid) returns public.sims
language plpgsql security definer set search_path = ''
as $$
declare
  found_sim public.sims;
begin
  select * into found_sim from public.sims s where s.id = sim for update;
  if found and private.may_manage_sims_of(found_sim.org_id) then
    return found_sim;
  end if;
  if not found and private.may_manage_sims_of(null) then
    raise exception 'no SIM %', sim using errcode = '22023';
  end if;
  raise exception 'you may not manage this SIM' using errcode = '42501';
end
$$;
comment on function private.lock_managed_sim(uuid) is
  'The SIM, locked for update, if the caller may manage it; 42501 otherwise (22023 for a platform admin naming no SIM).';

-- Replaces a SIM's stages with `stages` (a JSON array in funnel order) after checking the shape
-- the goal engine needs: 1 to 20 stages, the last one the deal without a rate, every other one
-- converting into the next at a rate in (0, 1] with at most five decimals.
create or replace function private.replace_sim_stages(sim uuid, stages jsonb) returns void
language plpgsql security definer set search_path = ''
as $$
declare
  stage_count integer;
begin
  if jsonb_typeof(stages) is distinct from 'array' then
    raise exception 'stages must be an array' using errcode = '22023';
  end if;
  stage_count := jsonb_array_length(stages);
  if stage_count not between 1 and 20 then
    raise exception 'a funnel has 1 to 20 stages' using errcode = '22023';
  end if;
  if exists (select 1 from jsonb_array_elements(stages) with ordinality e(stage, n)
              where jsonb_typeof(e.stage) is distinct from 'object'
                 or ((e.stage ->> 'activity_type') = 'deal') <> (e.n = stage_count)) then
    raise exception 'the funnel ends in its one deal stage, and only there' using errcode = '22023';
  end if;
  if exists (select 1 from jsonb_array_elements(stages) e(stage)
              where (e.stage ->> 'conversion_rate')::numeric
                    is distinct from round((e.stage ->> 'conversion_rate')::numeric, 5)) then
    raise exception 'conversion rates keep at most five decimals' using errcode = '22023';
  end if;
  delete from public.sim_stages st where st.sim_id = sim;
  insert into public.sim_stages (sim_id, position, key, name, activity_type, conversion_rate)
  select sim, e.n, e.stage ->> 'key', e.stage ->> 'name',
         (e.stage ->> 'activity_type')::public.activity_type, (e.stage ->> 'conversion_rate')::numeric
    from jsonb_array_elements(stages) with ordinality e(stage, n);
end
$$;
comment on function private.replace_sim_stages(uuid, jsonb) is
  'Checks a funnel (1–20 stages ending in the one deal stage, rates of five decimals) and makes it the SIM''s stages.';

-- ## Create or edit
create or replace function public.admin_save_sim(sim jsonb) returns jsonb
language plpgsql security definer set search_path = ''
as $$
declare
  sim_id uuid := nullif(sim ->> 'id', '')::uuid;
  owner_org uuid := nullif(sim ->> 'org_id', '')::uuid;
  existing public.sims;
  before jsonb;
  saved_id uuid;
begin
  if jsonb_typeof(sim) is distinct from 'object' then
    raise exception 'sim must be an object' using errcode = '22023';
  end if;
  if sim_id is null then
    if not private.may_manage_sims_of(owner_org) then
      raise exception 'you may not manage these SIMs' using errcode = '42501';
    end if;
    insert into public.sims (org_id, key, name, industry, description, average_deal_value_cents,
                             commission_rate, sources, offered_by_default)
    values (owner_org, sim ->> 'key', sim ->> 'name', sim ->> 'industry',
            coalesce(sim ->> 'description', ''), (sim ->> 'average_deal_value_cents')::bigint,
            coalesce((sim ->> 'commission_rate')::numeric, 1), coalesce(sim ->> 'sources', ''),
            owner_org is not null or coalesce((sim ->> 'offered_by_default')::boolean, true))
    returning id into saved_id;
  else
    existing := private.lock_managed_sim(sim_id);
    if owner_org is distinct from existing.org_id then
      raise exception 'a SIM keeps its owner' using errcode = '22023';
    end if;
    if sim ->> 'key' is distinct from existing.key then
      raise exception 'a SIM keeps its key' using errcode = '22023';
    end if;
    before := private.sim_snapshot(sim_id);
    update public.sims s
       set name = sim ->> 'name', industry = sim ->> 'industry',
           description = coalesce(sim ->> 'description', ''),
           average_deal_value_cents = (sim ->> 'average_deal_value_cents')::bigint,
           commission_rate = coalesce((sim ->> 'commission_rate')::numeric, 1),
           sources = coalesce(sim ->> 'sources', ''),
           offered_by_default = s.org_id is not null
                                or coalesce((sim ->> 'offered_by_default')::boolean, true)
     where s.id = sim_id
    returning s.id into saved_id;
  end if;
  perform private.replace_sim_stages(saved_id, sim -> 'stages');
  set constraints public.sim_stages_funnel_ends_in_a_deal immediate;
  perform private.write_audit(case when before is null then 'sim.create' else 'sim.update' end,
                              case when owner_org is null then 'global' else 'org' end, owner_org,
                              'sim', saved_id::text, before, private.sim_snapshot(saved_id));
  return private.sim_snapshot(saved_id);
end
$$;
comment on function public.admin_save_sim(jsonb) is
  'Creates a SIM (no id) or replaces an existing one''s fields and stages (key and owner are kept), '
  'for platform admins (any SIM) and enterprise admins (their organization''s, within its SIM limit), '
  'never in a read-only session. Audited as sim.create or sim.update with the SIM and its stages.';

-- ## Retire and restore
create or replace function public.admin_set_sim_status(sim uuid, new_status public.sim_status)
returns jsonb
language plpgsql security definer set search_path = ''
as $$
declare
  existing public.sims := private.lock_managed_sim(sim);
  before jsonb;
begin
  if new_status is null then
    raise exception 'new_status is available or retired' using errcode = '22023';
  end if;
  if existing.status = new_status then
    return jsonb_build_object('sim', private.sim_snapshot(sim), 'changed', false);
  end if;
  before := private.sim_snapshot(sim);
  update public.sims s set status = new_status where s.id = sim;
  perform private.write_audit(case new_status when 'retired' then 'sim.retire' else 'sim.restore' end,
                              case when existing.org_id is null then 'global' else 'org' end,
                              existing.org_id, 'sim', sim::text, before, private.sim_snapshot(sim));
  return jsonb_build_object('sim', private.sim_snapshot(sim), 'changed', true);
end
$$;
comment on function public.admin_set_sim_status(uuid, public.sim_status) is
  'Retires a SIM (no new goal may pick it; existing goals keep it) or restores it (within the owner''s SIM limit). '
  'For whoever may manage the SIM; audited as sim.retire or sim.restore, nothing when the status is unchanged.';

-- ## Availability per organization
create or replace function public.admin_set_sim_availability(sim uuid, org uuid, offered boolean default null)
returns jsonb
language plpgsql security definer set search_path = ''
as $$
declare
  previous boolean;
begin
  if not private.may_manage_sims_of(null) then
    raise exception 'only a platform admin in their own session sets SIM availability' using errcode = '42501';
  end if;
  if not exists (select 1 from public.sims s where s.id = sim and s.org_id is null) then
    raise exception 'no global SIM %', sim using errcode = '22023';
  end if;
  if not exists (select 1 from public.organizations o where o.id = org) then
    raise exception 'no organization %', org using errcode = '22023';
  end if;
  select a.offered into previous from public.sim_org_availability a
   where a.sim_id = sim and a.org_id = org for update;
  if previous is distinct from offered then
    if offered is null then
      delete from public.sim_org_availability a where a.sim_id = sim and a.org_id = org;
    else
      insert into public.sim_org_availability as a (sim_id, org_id, offered, updated_by)
      values (sim, org, offered, auth.uid())
      on conflict (sim_id, org_id) do update set offered = excluded.offered, updated_by = excluded.updated_by;
    end if;
    perform private.write_audit('sim.availability', 'org', org, 'sim', sim::text,
                                jsonb_build_object('offered', previous), jsonb_build_object('offered', offered));
  end if;
  return jsonb_build_object('sim_id', sim, 'org_id', org, 'offered', offered,
                            'changed', previous is distinct from offered,
                            'effective', private.sim_offered_to(sim, org));
end
$$;
comment on function public.admin_set_sim_availability(uuid, uuid, boolean) is
  'Platform admins only: offers (true) or withholds (false) a global SIM for one organization, or '
  'returns it to the SIM''s default (null). Audited as sim.availability when it changes.';

revoke execute on function public.admin_save_sim(jsonb),
  public.admin_set_sim_status(uuid, public.sim_status),
  public.admin_set_sim_availability(uuid, uuid, boolean) from public, anon;
grant execute on function public.admin_save_sim(jsonb),
  public.admin_set_sim_status(uuid, public.sim_status),
  public.admin_set_sim_availability(uuid, uuid, boolean) to authenticated;
