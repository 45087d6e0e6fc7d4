-- Addresses no e-mail goes to any more: Mailgun reported a permanent bounce, or the recipient
-- marked one of our e-mails as spam. The Mailgun webhook writes them (service role, no user is
-- calling); the e-mail sender skips them. A user can see that their own address is suppressed,
-- so the product can tell them why mail stopped; nobody else reads the list through the API.

create table public.email_suppressions (
  address text primary key
    check (address = lower(btrim(address)) and address like '_%@_%' and length(address) <= 320),
  reason text not null check (reason in ('bounced', 'complained')),
  detail text not null default '' check (length(detail) <= 1000),
  created_at timestamptz not null default now()
);
comment on table public.email_suppressions is
  'Addresses no e-mail is sent to: they bounced for good or complained. Written by the Mailgun webhook.';
comment on column public.email_suppressions.address is 'The e-mail address, trimmed and lower-cased.';
comment on column public.email_suppressions.reason is 'bounced (permanent failure) or complained (marked as spam).';
comment on column public.email_suppressions.detail is 'What Mailgun said (the bounce''s reason), for support.';
comment on column public.email_suppressions.created_at is 'When it was suppressed.';
alter table public.email_suppressions enable row level security;

revoke all on public.email_suppressions from anon, authenticated;
grant select on public.email_suppressions to authenticated;
grant all on public.email_suppressions to service_role;

-- The JWT's e-mail claim is the signed-in user's address (Supabase Auth puts it there).
create policy "users see whether their own address is suppressed" on public.email_suppressions
  for select to authenticated
  using (address = lower((select auth.jwt() ->> 'email')));
