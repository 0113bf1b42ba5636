"""Offline: n-best mixing x thresholds x none-rule on a details file with recorded hypotheses."""
import json, math, sys, itertools, functools
sys.path.insert(0, '/work/wt-steer3')
from cti.steering import default_config, Steering
from cti.steering._classifier import _clean
rows = [json.loads(l) for l in open(sys.argv[1])]
st = Steering(default_config())
cache = {}
def probs(lang, text):
    k = (lang, text)
    if k not in cache:
        clf = st._classifiers[lang]
        cache[k] = dict(zip(clf.intents, clf._model.predict_proba([_clean(text)])[0]))
    return cache[k]
# batch precompute
for r in rows:
    if r['heard'].strip():
        probs(r['language'], r['heard'])
        for t, _ in r['hypotheses']: probs(r['language'], t)

def ranking(r, n, scale, first_zero=True):
    if not r['heard'].strip(): return []
    chosen = [(r['heard'], 0.0)]
    for t, s in r['hypotheses']:
        if len(chosen) >= n: break
        if t != r['heard'] and t.strip(): chosen.append((t, min(s, 0.0)))
    w = [math.exp(scale * s) for _, s in chosen]; tot = sum(w)
    mix = {}
    for (t, _), wi in zip(chosen, w):
        for k, p in probs(r['language'], t).items(): mix[k] = mix.get(k, 0) + wi / tot * p
    return sorted(mix.items(), key=lambda kv: -kv[1])

def decide(rk, conf, route, confirm, margin, none_max):
    if not rk or rk[0][0] == 'none': return 'reprompt'
    pn = dict(rk).get('none', 0.0)
    if pn >= none_max: return 'reprompt'
    best = rk[0][1] * conf; second = rk[1][1] if len(rk) > 1 else 0
    if best >= route and rk[0][1] - second >= margin: return 'route'
    if best >= confirm: return 'confirm'
    return 'reprompt'

def evaluate(n, scale, route, confirm, margin, none_max):
    cells = {}
    for r in rows:
        rk = ranking(r, n, scale)
        d = decide(rk, r['speech_confidence'], route, confirm, margin, none_max)
        c = cells.setdefault((r['language'], r['snr']), dict(n=0, correct=0, mis=0, ood=0, fa=0, top1=0))
        if r['want'] is None:
            c['ood'] += 1; c['fa'] += d != 'reprompt'
        else:
            c['n'] += 1
            top = rk[0][0] if rk else None
            c['top1'] += top == r['want']
            if d != 'reprompt' and top == r['want']: c['correct'] += 1
            if d == 'route' and top != r['want']: c['mis'] += 1
    return cells

def summary(cells):
    keys = sorted(cells)
    corr = [cells[k]['correct'] / cells[k]['n'] for k in keys]
    mis = [cells[k]['mis'] / cells[k]['n'] for k in keys]
    fa = sum(cells[k]['fa'] for k in keys); top = [cells[k]['top1'] / cells[k]['n'] for k in keys]
    return sum(corr) / len(corr), max(mis), fa, corr, mis, top

if __name__ == '__main__':
    results = []
    for n in (1, 2, 3, 5, 10, 20):
        for scale in ((1.0,) if n == 1 else (0.5, 5.0, 20.0, 50.0, 100.0, 300.0)):
            for route in (0.8, 0.9, 0.95, 0.98):
                for confirm in (0.3, 0.4, 0.5, 0.6):
                    for none_max in (1.01, 0.4, 0.3, 0.2, 0.15, 0.1, 0.05):
                        s = summary(evaluate(n, scale, route, confirm, 0.2, none_max))
                        results.append(((n, scale, route, confirm, none_max), s))
    base = [x for x in results if x[0] == (1, 1.0, 0.95, 0.3, 1.01)][0]
    print('BASE', base[0], 'mean', round(base[1][0], 3), 'maxmis', base[1][1], 'fa', base[1][2], [round(v, 2) for v in base[1][3]], 'top1', [round(v, 2) for v in base[1][5]])
    print('-- best mean correct with max misrouted <= 0.04')
    import sys as _s
    lim = float(_s.argv[2]) if len(_s.argv) > 2 else 0.04
    ok = sorted([x for x in results if x[1][1] <= lim], key=lambda x: (-x[1][0], x[1][2]))
    for p, s in ok[:15]:
        print(p, 'mean', round(s[0], 3), 'maxmis', s[1], 'fa', s[2], [round(v, 2) for v in s[3]], 'top1', [round(v, 2) for v in s[5]])
    print('-- fewest false accepts with mean correct within 0.03 of the best, same misrouted limit')
    bestm = ok[0][1][0]
    for p, s in sorted([x for x in ok if x[1][0] >= bestm - 0.03], key=lambda x: (x[1][2], -x[1][0]))[:15]:
        print(p, 'mean', round(s[0], 3), 'maxmis', s[1], 'fa', s[2], [round(v, 2) for v in s[3]], 'top1', [round(v, 2) for v in s[5]])
    print('-- pareto: for each FA count the best mean')
    front = {}
    for p, s in ok:
        if s[2] not in front or s[0] > front[s[2]][1][0]: front[s[2]] = (p, s)
    for fa in sorted(front):
        p, s = front[fa]
        print(fa, p, 'mean', round(s[0], 3), 'maxmis', s[1], [round(v, 2) for v in s[3]])
    for p, s in []:
        print(p, 'mean', round(s[0], 3), 'maxmis', s[1], 'fa', s[2], [round(v, 2) for v in s[3]], 'top1', [round(v, 2) for v in s[5]])
    print('-- top1 by n/scale (no thresholds)')
    seen = set()
    for p, s in results:
        if (p[0], p[1]) in seen: continue
        seen.add((p[0], p[1])); print(p[:2], 'top1', [round(v, 2) for v in s[5]], round(sum(s[5]) / 4, 3))
