// Breaks page: "select all" ticks every open break on this page.
document.addEventListener("DOMContentLoaded", () => {
  const all = document.getElementById("select-all");
  if (!all) return;
  all.addEventListener("change", () => {
    document.querySelectorAll('#bulk-resolve input[name="break"]').forEach((box) => { box.checked = all.checked; });
  });
});
