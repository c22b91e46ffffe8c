// backtrack: served in place of MathJax from a CDN (the Voila page's mathjax_url).
// Voila registers its MathJax 2 typesetter itself (page_config's disabledExtensions
// reaches only federated extensions), and once this script has loaded the typesetter
// calls MathJax.Hub.Config: with nothing defined that threw "MathJax is not defined"
// at every load of the form. So this defines the few calls it makes, each doing
// nothing: no request leaves the page and nothing is typeset as maths (a note such as
// "cost $5 and $6" stays as typed).
(function () {
  "use strict";
  if (window.MathJax) {
    return;
  }
  const nothing = function () {};
  window.MathJax = {
    Hub: {
      Config: nothing,
      Configured: nothing,
      Queue: nothing,
      Register: { StartupHook: nothing },
    },
    Ajax: {},
    InputJax: { TeX: { resetEquationNumbers: nothing } },
  };
})();
