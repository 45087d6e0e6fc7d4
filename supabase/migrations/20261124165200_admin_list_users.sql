-- Admins list members by organization and role: search by part of the name or e-mail, filters
-- on organization, role, team and the organization's status, a sort, and a page with the total
-- count, in one round trip. Platform admins see every organization; an enterprise admin whose
-- plan allows it (private.administers_org) sees their own organization only. Everyone else,
-- and every read-only or impersonation session of an admin, is refused.

create or replace function public.admin_list_users(
  search text default null,
  org uuid default null,
  member_role public.org_role default null,
  team uuid default null,
  organization_status public.org_status default null,
  sort text default 'name',
  descending boolean default false,
  page_size integer default 50,
  page_offset integer default 0
) returns jsonb
language plpgsql stable security definer set search_path = ''
as $$
declare
  everywhere boolean := private.is_platform_admin() and not private.is_read_only();
  own_org uuid := private.my_org_id();
  pattern text := '%' || replace(replace(replace(btrim(search), '\', '\\'), '%', '\%'), '_', '\_') || '%';
  answer jsonb;
begin
  if not everywhere and not (own_org is not null and private.administers_org(own_org)) then
    raise exception 'only platform admins and enterprise admins whose plan allows it list members'
      using errcode = '42501';
  end if;
  if not everywhere and org is distinct from own_org and org is not null then
    raise exception 'an enterprise admin lists their own organization only' using errcode = '42501';
  end if;
  if sort is null or sort not in ('name', 'email', 'org', 'team', 'role', 'joined_at') then
    raise exception 'sort by name, email, org, team, role or joined_at' using errcode = '22023';
  end if;
  if page_size is null or page_size not between 1 and 200 or page_offset is null or page_offset < 0 then
    raise exception 'page_size is 1 to 200 and page_offset at least 0' using errcode = '22023';
  end if;
  if btrim(search) = '' then
    pattern := null;
  end if;

  with matching as (
    select m.user_id, p.email, p.full_name, m.org_id, o.name as org_name, o.status as org_status,
           m.role, m.team_id, t.name as team_name, t.division, m.created_at as joined_at,
           case sort when 'name' then lower(p.full_name) when 'email' then lower(p.email)
                     when 'org' then lower(o.name) when 'team' then lower(t.name) end as text_key
      from public.memberships m
      join public.organizations o on o.id = m.org_id
      join public.profiles p on p.id = m.user_id
      left join public.teams t on t.id = m.team_id
     where (everywhere or m.org_id = own_org)
       and (org is null or m.org_id = org)
       and (member_role is null or m.role = member_role)
       and (team is null or m.team_id = team)
       and (organization_status is null or o.status = organization_status)
       and (pattern is null or p.email ilike pattern or p.full_name ilike pattern)
  ), ranked as (
    select matching.*,
           row_number() over (
             order by case when sort = 'joined_at' and not descending then joined_at end asc,
                      case when sort = 'joined_at' and descending then joined_at end desc,
                      case when sort = 'role' and not descending then role end asc,
                      case when sort = 'role' and descending then role end desc,
                      case when not descending then text_key end asc nulls last,
                      case when descending then text_key end desc nulls last,
                      lower(full_name), user_id) as position
      from matching
  )
  select jsonb_build_object(
           'total', count(*),
           'users', coalesce(jsonb_agg(to_jsonb(ranked) - 'text_key' - 'position' order by position)
                               filter (where position > page_offset and position <= page_offset + page_size),
                             '[]'::jsonb))
    from ranked
    into answer;
  return answer;
end
$$;
comment on function public.admin_list_users(text, uuid, public.org_role, uuid, public.org_status, text, boolean, integer, integer) is
  'Platform admins (every organization) and enterprise admins whose plan allows it (their own): '
  'members matching the search (part of the name or e-mail, any case) and filters, sorted by '
  'name, email, org, team, role or joined_at, one page of them with the total: {total, users}.';
revoke execute on function public.admin_list_users(text, uuid, public.org_role, uuid, public.org_status, text, boolean, integer, integer)
  from public, anon;
grant execute on function public.admin_list_users(text, uuid, public.org_role, uuid, public.org_status, text, boolean, integer, integer)
  to authenticated;
