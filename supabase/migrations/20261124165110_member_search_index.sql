-- Admins search members by any part of their name or e-mail, case-insensitively (`ilike
-- '%term%'`). Trigram GIN indexes serve such patterns; pg_trgm is available on hosted Supabase
-- and ships with PostgreSQL's contrib locally.

create extension if not exists pg_trgm with schema extensions;

create index profiles_email_trgm_idx on public.profiles using gin (email extensions.gin_trgm_ops);
create index profiles_full_name_trgm_idx on public.profiles using gin (full_name extensions.gin_trgm_ops);
comment on index public.profiles_email_trgm_idx is 'Serves admin_list_users'' search by part of an e-mail.';
comment on index public.profiles_full_name_trgm_idx is 'Serves admin_list_users'' search by part of a name.';
