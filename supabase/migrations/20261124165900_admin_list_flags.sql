-- The flags set at each scope, for platform admins: one page of feature_flags rows (filtered by
-- feature, scope, organization or user) with the total, in one round trip. It runs with the
-- caller's rights, so RLS still decides what is read; the check only makes the answer a clear
-- refusal for everyone else (members would otherwise see the few flags that apply to them).

create or replace function public.admin_list_flags(
  feature text default null, flag_scope public.flag_scope default null, org uuid default null,
  member uuid default null, page_size integer default 50, page_offset integer default 0
) returns jsonb
language plpgsql stable security invoker set search_path = ''
as $$
declare
  answer jsonb;
begin
  if not private.is_platform_admin() or private.is_read_only() then
    raise exception 'only a platform admin in their own session lists flags' using errcode = '42501';
  end if;
  if page_size not between 1 and 500 or page_offset < 0 then
    raise exception 'page_size is 1 to 500 and page_offset at least 0' using errcode = '22023';
  end if;
  with matching as (
    select f.* from public.feature_flags f
     where (feature is null or f.key = feature)
       and (flag_scope is null or f.scope = flag_scope)
       and (org is null or f.org_id = org)
       and (member is null or f.user_id = member)
  ), page as (
    select m.* from matching m
     order by m.key, m.scope, m.org_id nulls first, m.user_id nulls first
     limit page_size offset page_offset
  )
  select jsonb_build_object(
           'flags', coalesce((select jsonb_agg(to_jsonb(p) order by p.key, p.scope, p.org_id nulls first,
                                               p.user_id nulls first) from page p), '[]'),
           'total', (select count(*) from matching))
    into answer;
  return answer;
end
$$;
comment on function public.admin_list_flags(text, public.flag_scope, uuid, uuid, integer, integer) is
  'Platform admins only (not in a read-only session): the flags set, filtered by feature, scope, '
  'organization or user, one page in key/scope/target order, with the total matching.';
revoke execute on function public.admin_list_flags(text, public.flag_scope, uuid, uuid, integer, integer) from public, anon;
grant execute on function public.admin_list_flags(text, public.flag_scope, uuid, uuid, integer, integer) to authenticated;
