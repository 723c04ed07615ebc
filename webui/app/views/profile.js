// The person's own profile: the name others see in rooms, and the time zone their times are
// shown and entered in (it starts as their program's).
import { patch, ApiError } from '../api.js';
import { h, field, showProblem, clearProblem, say, formActions, formatWhen } from '../dom.js';
import { keepProfile } from '../offline.js';
import { allZones, zoneLabel } from '../zones.js';

export async function profileView(me) {
  const zones = allZones();
  if (!zones.includes(me.timezone)) zones.unshift(me.timezone);
  const example = h('p', { class: 'muted', id: 'f-timezone-example' });
  const showExample = (zone) => {
    example.textContent = `Right now that is ${formatWhen(new Date().toISOString(), zone)}.`;
  };
  const form = h('form', { class: 'card', novalidate: true },
    field('Your name in rooms', { name: 'display_name', value: me.display_name, maxlength: 80, autocomplete: 'nickname' }),
    h('p', { class: 'muted' }, 'A first name or a name you choose: others in your groups see it.'),
    field('Your time zone', { name: 'timezone', tag: 'select', options: zones.map((z) => [z, zoneLabel(z)]) }),
    example,
    formActions(h('button', { type: 'submit' }, 'Save profile')));
  form.timezone.value = me.timezone;
  form.timezone.setAttribute('aria-describedby', `${form.timezone.getAttribute('aria-describedby')} f-timezone-example`);
  showExample(me.timezone);
  form.timezone.addEventListener('change', () => showExample(form.timezone.value));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearProblem(form);
    const button = form.querySelector('button[type="submit"]');
    button.disabled = true; // a second press while the first is on its way sends nothing twice
    try {
      const saved = await patch('/api/v1/me', {
        display_name: form.display_name.value.trim(), timezone: form.timezone.value,
      });
      Object.assign(me, saved); // the app's profile: every page from now on uses it
      keepProfile(me);
      say(button, `Saved. Times are now shown in ${zoneLabel(saved.timezone)}.`);
    } catch (err) {
      showProblem(form, err instanceof ApiError ? err.problem : { detail: 'Your profile was not saved: check your connection and try again.' });
    } finally {
      button.disabled = false;
    }
  });
  return h('section', {}, h('h1', {}, 'Your profile'), form);
}
