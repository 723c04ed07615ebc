// Questionnaires (PHQ-9, GAD-7, BAM): the client fills them in; scores and bands come back.
import { get, post, ApiError } from '../api.js';
import { h, showProblem, clearProblem, formatWhen } from '../dom.js';

const BAND_TEXT = {
  minimal: 'minimal', mild: 'mild', moderate: 'moderate',
  moderately_severe: 'moderately severe', severe: 'severe',
};
const KINDS = ['phq9', 'gad7', 'bam'];

let formsCache = null;
async function forms() {
  formsCache = formsCache || await get('/api/v1/measures/forms');
  return formsCache;
}

export function describeScore(m) {
  if (m.subscales) {
    return `use ${m.subscales.use}, risk ${m.subscales.risk}, protective ${m.subscales.protective}`;
  }
  return `${m.total} (${BAND_TEXT[m.band] || m.band})`;
}

export async function measuresView(me, kind) {
  if (KINDS.includes(kind)) return measureForm(me, kind);
  const all = await forms();
  const [{ items: schedule }, { items: done }] = await Promise.all([
    get('/api/v1/measure-schedules'), get('/api/v1/measures?limit=20'),
  ]);
  const due = new Set(schedule.filter((s) => s.due_now).map((s) => s.kind));
  return h('section', {},
    h('h1', {}, 'Questionnaires'),
    h('div', { class: 'card' }, h('h2', {}, 'Fill one in'),
      h('ul', { class: 'list' }, KINDS.map((k) => h('li', { class: 'row' },
        h('span', {}, h('strong', {}, all[k].title), ' ', all[k].name),
        h('span', {}, due.has(k) ? h('span', { class: 'tag live' }, 'due now') : null, ' ',
          h('a', { class: 'btn', href: `/measures/${k}` }, `Start ${all[k].title}`)))))),
    h('div', { class: 'card' }, h('h2', {}, 'Your recent results'),
      done.length ? h('ul', { class: 'list' }, done.map((m) => h('li', { class: 'row' },
        h('span', {}, h('strong', {}, all[m.kind].title), ' ', formatWhen(m.completed_at, me.timezone)),
        h('span', {}, describeScore(m)))))
        : h('p', { class: 'muted' }, 'Nothing yet.')));
}

function radios(name, legend, options, required = true) {
  return h('fieldset', { class: 'question' },
    h('legend', {}, legend),
    options.map(([value, text]) => h('label', { class: 'check' },
      h('input', { type: 'radio', name, value: String(value), required }), text)));
}

async function measureForm(me, kind) {
  const spec = (await forms())[kind];
  const questions = [];
  if (kind === 'bam') {
    for (const item of spec.items) {
      if (item.scale === 'detail') {
        questions.push(h('fieldset', { class: 'question' },
          h('legend', {}, `${item.n}. ${item.text} (optional)`),
          item.parts.map(([letter, text]) => h('label', { class: 'stack' }, `${letter}. ${text}`,
            h('select', { name: `q7${letter}` }, h('option', { value: '' }, 'Skip'),
              spec.scales.days.map(([v, t]) => h('option', { value: String(v) }, t)))))));
      } else {
        questions.push(radios(`q${item.n}`, `${item.n}. ${item.text}`, spec.scales[item.scale]));
      }
    }
  } else {
    spec.items.forEach((text, i) => questions.push(radios(`q${i + 1}`, `${i + 1}. ${text}`, spec.options)));
  }
  const result = h('div', { role: 'status', 'aria-live': 'polite' });
  const form = h('form', { class: 'card', novalidate: true },
    h('p', {}, spec.stem), questions,
    h('div', { class: 'form-actions' }, h('button', { type: 'submit' }, 'Submit')), result);
  const id = crypto.randomUUID(); // one id for this filling-in: a retry never stores it twice
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearProblem(form);
    const answers = [];
    const count = kind === 'bam' ? 17 : spec.items.length;
    for (let n = 1; n <= count; n += 1) {
      if (kind === 'bam' && n === 7) {
        const detail = {};
        for (const [letter] of spec.items[6].parts) {
          const v = form.elements[`q7${letter}`].value;
          if (v !== '') detail[letter] = Number(v);
        }
        answers.push(Object.keys(detail).length ? detail : null);
        continue;
      }
      const picked = form.querySelector(`input[name="q${n}"]:checked`);
      if (!picked) {
        showProblem(form, { detail: `Please answer question ${n}.` });
        form.querySelector(`input[name="q${n}"]`).focus();
        return;
      }
      answers.push(Number(picked.value));
    }
    try {
      const m = await post('/api/v1/measures', { id, kind, answers, completed_at: new Date().toISOString() });
      form.querySelector('button[type="submit"]').disabled = true;
      result.replaceChildren(h('p', { class: 'success' }, `Thank you. ${spec.title}: ${describeScore(m)}.`));
      if (m.crisis) {
        result.append(h('p', { class: 'error', role: 'alert' },
          'Your counselor has been told and will reach out today. If you are thinking about hurting yourself, please reach out now: the crisis lines are open.'));
        document.getElementById('crisis-button')?.click(); // opens the crisis panel
      }
    } catch (err) {
      showProblem(form, err instanceof ApiError ? err.problem : { detail: String(err) });
    }
  });
  return h('section', {}, h('h1', {}, `${spec.title}: ${spec.name}`), form,
    h('p', { class: 'muted' }, spec.source));
}
