-- The admins' view of organizations counts seats the way the database enforces them
-- (private.org_seat_limit): the override, else the plan's max_users capped by the seats the
-- Stripe subscription pays for. Written out rather than calling org_seat_limit, a security
-- definer, so that the view keeps reading with the caller's rights only.

create or replace view public.admin_organizations with (security_invoker = true) as
select o.id, o.name, o.slug, o.kind, o.plan_key, o.status, o.suspended_at,
       (select count(*) from public.memberships m where m.org_id = o.id) as members,
       coalesce(o.max_users,
                least(p.max_users, case when s.stripe_subscription_id is not null then s.seats end)) as seat_limit,
       (select count(*) from public.sims s where s.org_id = o.id and s.status = 'available') as own_sims,
       coalesce(o.max_sims, p.max_sims) as sim_limit,
       s.status as subscription_status, s.grace_until, o.created_at
  from public.organizations o
  join public.plans p on p.key = o.plan_key
  left join public.subscriptions s on s.org_id = o.id;
comment on column public.admin_organizations.seat_limit is
  'Seats allowed: the override, else the plan''s capped by the seats paid for (as the database enforces).';
