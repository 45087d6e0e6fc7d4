-- Reading the audit log: newest entry first (id descending), paged with a keyset cursor on id,
-- narrowed by one filter or more. Each filter column leads an index that ends in id, so a page
-- is an index range whatever the filter; the single-column indexes they replace are dropped.

create index audit_log_org_id_id_idx on public.audit_log (org_id, id);
create index audit_log_actor_id_id_idx on public.audit_log (actor_id, id);
create index audit_log_impersonator_id_id_idx on public.audit_log (impersonator_id, id)
  where impersonator_id is not null;
create index audit_log_action_id_idx on public.audit_log (action, id);
create index audit_log_target_id_idx on public.audit_log (target_type, target_id, id);

drop index public.audit_log_actor_id_idx;
drop index public.audit_log_action_idx;

comment on index public.audit_log_org_id_id_idx is
  'An organization''s entries newest first: the enterprise admins'' policy and the org filter.';
comment on index public.audit_log_actor_id_id_idx is 'One actor''s entries newest first.';
comment on index public.audit_log_impersonator_id_id_idx is
  'The entries written while a platform admin impersonated someone, newest first.';
comment on index public.audit_log_action_id_idx is 'One action''s entries newest first.';
comment on index public.audit_log_target_id_idx is 'The entries about one target, newest first.';
