/* The static quiz: grades the answers in the browser, with no kernel.

   Plain ES5 so that any browser runs it; every rule mirrors gancourse/quiz/grading.py (grade,
   parse_number, Score) and page.py (feedback_html), and the sentences come from the page (TEXT).
   page.py embeds this file once per quiz, right after the quiz's markup: a
   <div class="gcq" data-gcq-bank="..."> that holds the forms and a <script class="gcq-data"> with
   the questions. Each copy wires up every quiz on the page that is not wired yet and marks it with
   data-gcq-ready="1", so a page may show several quizzes and the script needs no element id. */
(function () {
  "use strict";
  var NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (whole, key) {
      return Object.prototype.hasOwnProperty.call(values, key) ? String(values[key]) : whole;
    });
  }

  function parseNumber(raw) {
    var s = String(raw).trim(), percent = false;
    if (s.slice(-1) === "%") { percent = true; s = s.slice(0, -1).trim(); }
    if (s.indexOf(".") < 0 && s.split(",").length === 2) { s = s.replace(",", "."); }
    if (!NUMBER.test(s)) { return null; }
    var x = parseFloat(s);
    if (percent) { x = x / 100; }
    return isFinite(x) ? x : null;
  }

  function setUp(root) {
    var dataScript = root.querySelector("script.gcq-data");
    if (!dataScript) { return; }
    var data = JSON.parse(dataScript.textContent);
    var T = data.text, questions = data.questions, firstTry = {};

    function verdict(ok) { return ok ? T.right : T.wrong; }

    function grade(q, form) {
      var i;
      if (q.kind === "numeric") {
        var x = parseNumber(form.querySelector("input").value);
        if (x === null) { return {answered: false, correct: false, lines: [T.need_number]}; }
        var ok = Math.abs(x - q.answer) <= q.tolerance + data.slack;
        return {answered: true, correct: ok, lines: [verdict(ok), ok ? q.right : q.wrong]};
      }
      var inputs = form.querySelectorAll("input"), chosen = [];
      for (i = 0; i < inputs.length; i++) {
        if (inputs[i].checked) { chosen.push(parseInt(inputs[i].value, 10)); }
      }
      chosen.sort(function (a, b) { return a - b; });
      if (q.kind !== "multiple") {
        if (!chosen.length) { return {answered: false, correct: false, lines: [T.choose_one]}; }
        var c = q.choices[chosen[0]];
        return {answered: true, correct: c.correct, lines: [verdict(c.correct), c.explanation]};
      }
      if (!chosen.length) { return {answered: false, correct: false, lines: [T.choose_some]}; }
      var nRight = 0, hit = 0, extra = 0;
      for (i = 0; i < q.choices.length; i++) { if (q.choices[i].correct) { nRight++; } }
      for (i = 0; i < chosen.length; i++) { if (q.choices[chosen[i]].correct) { hit++; } else { extra++; } }
      var correct = hit === nRight && extra === 0, lines = [verdict(correct)];
      if (!correct) { lines.push(fill(T.partial, {hit: hit, right: nRight, extra: extra})); }
      for (i = 0; i < chosen.length; i++) {
        var ch = q.choices[chosen[i]];
        lines.push(fill(T.choice_note, {text: ch.text, explanation: ch.explanation}));
      }
      return {answered: true, correct: correct, lines: lines};
    }

    function show(box, fb) {
      box.className = "gcq-feedback " + (!fb.answered ? "gcq-hint" : (fb.correct ? "gcq-right" : "gcq-wrong"));
      while (box.firstChild) { box.removeChild(box.firstChild); }
      for (var i = 0; i < fb.lines.length; i++) {
        var p = document.createElement("p");
        if (i === 0 && fb.answered) {
          var strong = document.createElement("strong");
          strong.className = "gcq-verdict";
          strong.textContent = fb.lines[0];
          p.appendChild(strong);
        } else {
          p.textContent = fb.lines[i];
        }
        box.appendChild(p);
      }
    }

    var scoreLine = root.querySelector(".gcq-score");
    function updateScore() {
      var checked = 0, right = 0;
      for (var k in firstTry) {
        if (Object.prototype.hasOwnProperty.call(firstTry, k)) { checked++; if (firstTry[k]) { right++; } }
      }
      scoreLine.textContent = checked ? fill(T.score, {right: right, checked: checked, total: questions.length})
                                      : fill(T.score_none, {total: questions.length});
    }

    var forms = root.querySelectorAll("form.gcq-q");
    Array.prototype.forEach.call(forms, function (form) {
      var index = parseInt(form.getAttribute("data-gcq-index"), 10);
      var box = form.querySelector(".gcq-feedback");
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        var fb = grade(questions[index], form);
        show(box, fb);
        if (fb.answered && !Object.prototype.hasOwnProperty.call(firstTry, index)) {
          firstTry[index] = fb.correct;
          updateScore();
        }
      });
      form.querySelector(".gcq-check").disabled = false;
    });
    var note = root.querySelector(".gcq-nojs");
    if (note) { note.parentNode.removeChild(note); }
    root.setAttribute("data-gcq-ready", "1");
  }

  var roots = document.querySelectorAll("div.gcq[data-gcq-bank]");
  for (var i = 0; i < roots.length; i++) {
    if (roots[i].getAttribute("data-gcq-ready") !== "1") { setUp(roots[i]); }
  }
})();
