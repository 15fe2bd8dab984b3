// 登录 and 修改密码 (the first login must change the one-time password).

import { h, mount, api, t, go, session, guard } from '../app.js';

export default async function (root, _params, query, name) {
  if (name === 'password') return password(root, query);
  const user = h('input', { name: 'user', autocomplete: 'username', required: true });
  const pass = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const msg = h('p', { class: 'error', role: 'alert' });
  const form = h('form', {
    class: 'login',
    onsubmit: async (e) => {
      e.preventDefault();
      msg.textContent = '';
      try {
        const me = await api('login', { method: 'POST', body: { user: user.value.trim(), password: pass.value } });
        session.me = me;
        session.csrf = me.csrf || null;
        const next = query.next && !query.next.startsWith('/login') && !query.next.startsWith('/password') ? query.next : '/dashboard';
        if (me.must_change) go('/password', { next });
        else location.hash = `#${next}`;
      } catch (err) {
        msg.textContent = err.message;
      }
    },
  },
  h('h1', {}, t('app.title')),
  h('label', {}, t('login.user'), user),
  h('label', {}, t('login.password'), pass),
  msg,
  h('p', {}, h('button', { class: 'primary', type: 'submit' }, t('login.submit'))));
  mount(root, form);
  user.focus();
}

async function password(root, query) {
  const old = h('input', { name: 'old', type: 'password', autocomplete: 'current-password', required: true });
  const neu = h('input', { name: 'new', type: 'password', autocomplete: 'new-password', required: true, minlength: 10 });
  const msg = h('p', { class: 'error', role: 'alert' });
  mount(root, h('form', {
    class: 'login',
    onsubmit: async (e) => {
      e.preventDefault();
      msg.textContent = '';
      await guard(async () => {
        await api('password', { method: 'POST', body: { old: old.value, new: neu.value } });
        if (session.me) session.me.must_change = false;
        const next = query.next && !query.next.startsWith('/login') && !query.next.startsWith('/password') ? query.next : '/dashboard';
        location.hash = `#${next}`;
      }, msg);
    },
  },
  h('h1', {}, t('user.password')),
  session.me?.must_change ? h('p', { class: 'muted' }, t('login.must_change')) : null,
  h('label', {}, t('password.old'), old),
  h('label', {}, t('password.new'), neu),
  msg,
  h('p', {}, h('button', { class: 'primary', type: 'submit' }, t('password.submit')))));
}
