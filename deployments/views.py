def dashboard(request):
    pass


def service_detail(request, name):
    pass
