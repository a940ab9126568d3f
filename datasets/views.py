from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_safe

from datasets import selectors
from datasets.api.views import template_response


@require_safe
@login_required
def catalogue(request):
    return render(request, "datasets/catalogue.html", {"datasets": selectors.dataset_list()})


@require_safe
@login_required
def dataset_detail(request, slug):
    dataset = selectors.dataset_get(slug=slug)
    return render(request, "datasets/dataset_detail.html", {"dataset": dataset})


@require_safe
@login_required
def dataset_template(request, slug):
    return template_response(request=request, slug=slug)
