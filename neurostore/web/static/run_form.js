// The meta-analysis form: choosing another estimator shows its options at once (the
// "Show its options" button does the same without JavaScript), and only the chosen
// correction's options are shown.
(function () {
  "use strict";
  const choice = document.getElementById("estimator-choice");
  if (choice) {
    choice.querySelector("select").addEventListener("change", function () { choice.submit(); });
  }
  const radios = document.querySelectorAll("input[name='correction.method']");
  function showChosen() {
    document.querySelectorAll("[data-options-of]").forEach(function (block) {
      const radio = document.getElementById("correction-" + block.dataset.optionsOf);
      block.hidden = !(radio && radio.checked);
    });
  }
  radios.forEach(function (radio) { radio.addEventListener("change", showChosen); });
  showChosen();
})();
